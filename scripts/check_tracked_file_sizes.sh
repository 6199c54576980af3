#!/usr/bin/env bash
# Fails when a file tracked by git is larger than the repository allows (default 20 MiB), naming
# each such file; large weights go in as shards (presence.save_model max_shard_mb).
#   bash scripts/check_tracked_file_sizes.sh [limit-bytes]
# Exits 77 (CTest's "skipped") outside a git checkout or without git.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-$((20 * 1024 * 1024))}
if ! command -v git >/dev/null || ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "not a git checkout: nothing to check" >&2
  exit 77
fi
status=0
count=0
while IFS= read -r -d '' file; do
  [[ -f "$file" ]] || continue  # deleted in the working tree
  count=$((count + 1))
  size=$(stat -c %s -- "$file")
  if (( size > limit )); then
    echo "FAIL: $file is $size bytes, over the limit of $limit bytes" >&2
    status=1
  fi
done < <(git ls-files -z)
echo "checked $count tracked files against $limit bytes"
exit $status
