// An empty translation unit: the precompiled-header holder targets in PresenceTorch.cmake need one
// source file of their own; every LibTorch target reuses the header they precompile.
