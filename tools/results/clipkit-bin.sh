# Sourced by the results scripts: sets `bin`, the clipkit binary they run.
# CLIPKIT names a built one; otherwise the missing system packages are
# installed and the release binary is built (a clean clone has none).
if [ -n "${CLIPKIT:-}" ]; then
    bin=$CLIPKIT
else
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    export PATH="$PATH:/opt/swift/usr/bin"
    "$root/tools/install-deps.sh" >&2
    swift build --package-path "$root" -c release --product clipkit >&2
    bin=$(swift build --package-path "$root" -c release --show-bin-path)/clipkit
fi
