#!/usr/bin/env bash
# Prints the directory of the IATI 2.03 standard (schemas, codelists, codelist
# mapping, ruleset) that scripts/iati_validate.py checks exports against,
# installing it into .tools/iati if needed: PyPI's pyIATI 0.4.1 ships them under
# iati/resources/standard/2-03/ (the official IATI-Schemas 2.03 XSDs, CC BY 4.0),
# and lxml for the validator. pyIATI's own dependencies are pinned to versions
# that no longer build (lxml 4.2.4), so it is installed without them; only its
# resource files are used. No root needed. Progress goes to stderr; the only line
# on stdout is the directory. The validator runs with PYTHONPATH=.tools/iati.
set -euo pipefail
PYIATI_VERSION=0.4.1
LXML_VERSION=6.0.2
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools/iati"
standard="$tools/iati/resources/standard/2-03"

if [ ! -f "$standard/schemas/iati-activities-schema.xsd" ] || [ ! -d "$tools/lxml" ]; then
    echo "installing pyIATI $PYIATI_VERSION (the IATI 2.03 schemas and codelists) and lxml $LXML_VERSION into $tools ..." >&2
    mkdir -p "$tools"
    python3 -m pip install --quiet --disable-pip-version-check --no-deps \
        --target "$tools" "pyIATI==$PYIATI_VERSION" "lxml==$LXML_VERSION" >&2
fi
[ -f "$standard/schemas/iati-activities-schema.xsd" ] || {
    echo "pyIATI $PYIATI_VERSION did not install the 2.03 schemas into $standard" >&2
    exit 1
}
echo "$standard"
