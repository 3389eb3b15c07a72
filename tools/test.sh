#!/usr/bin/env bash
# The README's test command: installs what is missing (Debian packages,
# hugepages), builds weir (normal and ASan+UBSan) and runs every test. The
# last line is the summary 'N passed, N failed'. Needs root (namespaces).
set -uo pipefail
cd "$(dirname "$0")/.."
if ! bash tools/setup.sh; then
	echo "setup failed"
	echo "0 passed, 1 failed"
	exit 1
fi
exec /usr/bin/python3 tests/run.py "$@"
