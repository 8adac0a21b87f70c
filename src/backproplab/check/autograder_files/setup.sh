#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image: it installs
# backproplab @@VERSION@@ from the wheel in this zip, with what the course's starter package
# imports (the "homework" extra), and locks the autograder's folders away from the learner's code.
#
# What needs the network, and why:
#   system   apt-get (Ubuntu's mirror): bubblewrap, for the strongest isolation (namespaces), and,
#            where the image has no Python >= 3.11 that can create a virtual environment (Ubuntu
#            22.04's python3 is 3.10), python3.11 and python3.11-venv. Without bubblewrap the
#            grader still runs each learner's code as a user of its own (it runs as root).
#   install  pip (PyPI): backproplab's dependencies (numpy, matplotlib, tqdm, platformdirs,
#            markdown-it-py, mdit-py-plugins, latex2mathml) and the extra's pandas. backproplab
#            itself comes from this zip, never from an index.
#   lock     nothing. Nor does run_autograder, at all.
#
# Usage: setup.sh [system] [install] [lock]   (no step named: all three, in this order)
# Environment (unset on Gradescope; for trying the autograder elsewhere):
#   AUTOGRADER_ROOT     the autograder's folder (default /autograder)
#   BACKPROPLAB_VENV    where to install (default /opt/backproplab: outside /autograder, readable by
#                       every user, since the learner's code runs this Python as a user of its own)
#   BACKPROPLAB_PYTHON  the Python to create it with (default: the first of python3.14 … python3.11,
#                       python3 that is 3.11 or newer and can create a virtual environment)
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="${BACKPROPLAB_VENV:-/opt/backproplab}"
WHEEL="$SOURCE/@@WHEEL@@"

say() { echo "setup.sh: $*"; }
SAY_ISOLATION='from backproplab.check.isolation import choose; print("isolation:", choose("strict").detail)'

# the Pythons that are 3.11 or newer, best first
pythons() {
    local name path
    for name in ${BACKPROPLAB_PYTHON:-python3.14 python3.13 python3.12 python3.11 python3}; do
        path=$(command -v "$name" 2>/dev/null) || continue
        "$path" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo "$path"
    done
    return 0
}

can_venv() {
    local tmp ok=1
    tmp=$(mktemp -d)
    "$1" -m venv "$tmp/venv" >/dev/null 2>&1 && ok=0
    rm -rf "$tmp"
    return $ok
}

apt_install() {
    apt-get install -y -q --no-install-recommends "$@" || { say "apt-get could not install $*"; return 1; }
}

system() {
    if ! command -v apt-get >/dev/null 2>&1; then
        say "no apt-get: install bubblewrap and a Python >= 3.11 (with venv) with this image's package manager"
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || say "apt-get update failed; going on with the package lists the image has"
    apt_install ca-certificates bubblewrap || say "without bubblewrap each learner's code runs as a user of its own"
    local found python version
    found=$(pythons)
    [ -n "$found" ] || apt_install python3.11 python3.11-venv || true
    for python in $found; do  # Debian's Pythons create environments only with their -venv package
        version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        can_venv "$python" || apt_install "python$version-venv" || true
    done
}

install() {
    local python
    for python in $(pythons); do
        say "creating $VENV with $python ($("$python" --version 2>&1))"
        if "$python" -m venv "$VENV"; then
            "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL[homework]"
            chmod -R go+rX,go-w "$VENV"
            "$VENV/bin/python" -m backproplab --version
            "$VENV/bin/python" -c "$SAY_ISOLATION" \
                || say "WARNING: nothing stronger than process limits here: run_autograder will refuse to grade"
            return 0
        fi
        rm -rf "$VENV"
    done
    say "no Python >= 3.11 that can create a virtual environment: run the system step first, or set BACKPROPLAB_PYTHON"
    exit 1
}

# the learner's code runs as another user: it must not read the rubric, the starter or the
# wheel, nor write the results
lock() {
    chmod -R go-rwx "$SOURCE"
    mkdir -p "$ROOT/results"
    chmod go-rwx "$ROOT/results"
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(system install lock)
for step in "${steps[@]}"; do
    case "$step" in
        system|install|lock) "$step" ;;
        *) say "unknown step $step (the steps: system, install, lock)"; exit 2 ;;
    esac
done
