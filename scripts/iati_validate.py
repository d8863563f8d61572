#!/usr/bin/env python3
"""Validates IATI 2.03 activity files the way the IATI Validator does, offline.

Three layers, each reported one error per line as `LINE: CHECK: message`:
  1. xsd        the official 2.03 schema (iati-activities-schema.xsd);
  2. codelist   every coded attribute that codelist-mapping.xml maps, against
                its codelist (conditions such as `@vocabulary = '1'` honoured);
  3. rules      the standard ruleset (standard_ruleset.json: atleast_one,
                date_order with NOW, regex_matches, sum, no_more_than_one),
                plus the rules the ruleset file does not carry but the IATI
                Validator applies: 1.1.21 (iati-identifier starts with the
                reporting-org ref and "-"), 1.3.1 (no spaces in identifiers),
                2.1.2 (vocabulary-1 sector percentages sum to 100), 6.6.2
                (sectors on the activity or on its transactions, not both).

The schemas, codelists, mapping and ruleset are pyIATI 0.4.1's copies
(`iati/resources/standard/2-03/`), installed by scripts/install-iati.sh.
Exit 0 when no error, 1 when there are errors, 2 on usage.
"""

import argparse
import datetime
import json
import os
import re
import sys

from lxml import etree

RULE_IDS = {
    "atleast_one": "rule atleast_one",
    "date_order": "rule 11.2 date_order",
    "regex_matches": "rule 1.3.13 regex_matches",
    "sum": "rule 3.1.4 sum",
    "no_more_than_one": "rule no_more_than_one",
}


def load_codelists(standard):
    """Codelist name -> set of codes."""
    out = {}
    folder = os.path.join(standard, "codelists")
    for name in os.listdir(folder):
        if not name.endswith(".xml"):
            continue
        tree = etree.parse(os.path.join(folder, name))
        codes = {c.text.strip() for c in tree.iterfind(".//codelist-item/code") if c.text}
        out[name[:-4]] = codes
    return out


def check_xsd(standard, doc):
    schema = etree.XMLSchema(
        etree.parse(os.path.join(standard, "schemas", "iati-activities-schema.xsd"))
    )
    if schema.validate(doc):
        return []
    return [(e.line, "xsd", e.message) for e in schema.error_log]


def check_codelists(standard, doc, codelists):
    errors = []
    mapping = etree.parse(os.path.join(standard, "codelist-mapping.xml"))
    for m in mapping.iterfind("mapping"):
        path = m.findtext("path").strip()
        ref = m.find("codelist").get("ref")
        cond = m.findtext("condition")
        if not (path.startswith("//iati-activity") or path.startswith("//@")):
            continue
        codes = codelists.get(ref)
        if codes is None:
            continue
        for value in doc.xpath(path, namespaces={"xml": "http://www.w3.org/XML/1998/namespace"}):
            el = value.getparent()
            if cond and not el.xpath(cond.strip()):
                continue
            if str(value) not in codes:
                errors.append(
                    (el.sourceline, "codelist", f"{path} = {str(value)!r} is not in codelist {ref}")
                )
    return errors


def first_value(el, path):
    got = el.xpath(path)
    if not got:
        return None
    v = got[0]
    return v if isinstance(v, str) else (v.text or "")


def check_ruleset(standard, doc, today):
    errors = []
    with open(os.path.join(standard, "rulesets", "standard_ruleset.json")) as f:
        ruleset = json.load(f)
    for context, rules in ruleset.items():
        for el in doc.xpath(context):
            for name, body in rules.items():
                for case in body["cases"]:
                    msg = apply_rule(name, case, el, today)
                    if msg:
                        errors.append((el.sourceline, RULE_IDS.get(name, name), f"{context}: {msg}"))
    return errors


def apply_rule(name, case, el, today):
    if name == "atleast_one":
        if not any(el.xpath(p) for p in case["paths"]):
            return f"none of {case['paths']}"
    elif name == "no_more_than_one":
        if sum(len(el.xpath(p)) for p in case["paths"]) > 1:
            return f"more than one of {case['paths']}"
    elif name == "date_order":
        def date_of(path):
            if path == "NOW":
                return today
            v = first_value(el, path)
            if not v:
                return None
            return datetime.date.fromisoformat(v[:10])
        less, more = date_of(case["less"]), date_of(case["more"])
        if less and more and less > more:
            return f"{case['less']} ({less}) is after {case['more']} ({more})"
    elif name == "regex_matches":
        rx = re.compile(case["regex"])
        for p in case["paths"]:
            for v in el.xpath(p):
                v = v if isinstance(v, str) else (v.text or "")
                if not rx.fullmatch(v):
                    return f"{p} = {v!r} holds a character / & | ? forbids"
    elif name == "sum":
        values = [v for p in case["paths"] for v in el.xpath(p)]
        if values and abs(sum(float(v) for v in values) - case["sum"]) > 1e-9:
            return f"{case['paths']} sum to {sum(float(v) for v in values)}, not {case['sum']}"
    return None


def check_validator_rules(doc):
    errors = []
    for act in doc.xpath("//iati-activity"):
        line = act.sourceline
        ident = (act.findtext("iati-identifier") or "").strip()
        ref = act.find("reporting-org").get("ref") if act.find("reporting-org") is not None else ""
        if not ident.startswith(ref + "-"):
            errors.append((line, "rule 1.1.21", f"iati-identifier {ident!r} does not start with the reporting-org ref {ref!r} and '-'"))
        for v in [ident] + act.xpath("participating-org/@ref") + [ref]:
            if re.search(r"\s", v):
                errors.append((line, "rule 1.3.1", f"identifier {v!r} holds a space"))
        vocab1 = [s for s in act.xpath("sector") if s.get("vocabulary", "1") == "1"]
        if vocab1:
            total = sum(float(s.get("percentage", "100")) for s in vocab1)
            if abs(total - 100) > 1e-9:
                errors.append((line, "rule 2.1.2", f"vocabulary-1 sector percentages sum to {total}, not 100"))
        if act.xpath("sector") and act.xpath("transaction/sector"):
            errors.append((line, "rule 6.6.2", "sectors on the activity and on its transactions"))
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--standard", default=os.environ.get("IATI_STANDARD_DIR"), help="pyIATI's 2-03 resources")
    ap.add_argument("--today", help="NOW for the date rules (YYYY-MM-DD; default: the real date)")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    if not a.standard:
        ap.error("--standard DIR (or IATI_STANDARD_DIR) is required")
    today = datetime.date.fromisoformat(a.today) if a.today else datetime.date.today()
    codelists = load_codelists(a.standard)
    total = 0
    for path in a.files:
        try:
            doc = etree.parse(path)
        except etree.XMLSyntaxError as e:
            print(f"{path}:{e.lineno}: xml: {e.msg}")
            total += 1
            continue
        errors = (
            check_xsd(a.standard, doc)
            + check_codelists(a.standard, doc, codelists)
            + check_ruleset(a.standard, doc, today)
            + check_validator_rules(doc)
        )
        for line, check, msg in errors:
            print(f"{path}:{line}: {check}: {msg}")
        activities = len(doc.xpath("//iati-activity"))
        print(f"{path}: {activities} activities, {len(errors)} errors", file=sys.stderr)
        total += len(errors)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
