// A shared library without the Presence entry point.
extern "C" int some_other_library_function() { return 42; }
