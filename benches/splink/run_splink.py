"""Splink (DuckDB backend) on the files the matching benchmark generated, for a side-by-side figure.

Reads the same source files Concord syncs: for the customer set (`matching-N-sS/`) the SAP DEBMAS
IDocs, the ERPNext JSON lines and the distributor's CSV; for the person set (`persons-N-sS/`) the
two CSVs. Standardises them the way Splink's documentation asks of its users (lower case,
punctuation removed, digits only for phones, tax IDs without country prefix), trains a model as
the Splink examples do (deterministic-rule estimate of the match share, u by random sampling, m by
expectation maximisation on two blocking rules), predicts, and clusters the pairwise predictions
with `linker.clustering.cluster_pairwise_predictions_at_threshold`.

Writes `clusters.csv` (`source,key,cluster`) into `--out` and prints one JSON line with the
seconds it took and its own peak RSS (VmHWM, reset at start as the Concord bench resets its own:
a forked child otherwise inherits its parent's high-water mark; Python and DuckDB live in this
one process).
The matching benchmark (benches/matching.rs) runs this script and scores the clusters with the
same truth scoring as Concord's golden records.

Usage: run_splink.py DATA_DIR --out DIR [--threshold 0.95] [--persons]
"""

import argparse
import csv
import glob
import json
import os
import re
import sys
import time
import xml.etree.ElementTree as ET

import duckdb
import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

PUNCTUATION = re.compile(r"[^\w\s]")
SPACES = re.compile(r"\s+")
NOT_DIGITS = re.compile(r"\D")
NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")

COLUMNS = [
    "unique_id",
    "source",
    "key",
    "name",
    "first_name",
    "surname",
    "dob",
    "tax_id",
    "email",
    "phone",
    "street",
    "postcode",
    "city",
]


def clean(text):
    """Lower case, punctuation out, spaces collapsed; None when nothing is left."""
    if text is None:
        return None
    text = SPACES.sub(" ", PUNCTUATION.sub(" ", str(text).lower())).strip()
    return text or None


def phone_digits(text):
    """The last nine digits: national and international spellings of a number meet."""
    digits = NOT_DIGITS.sub("", text or "")
    return digits[-9:] if len(digits) >= 6 else None


def tax_body(text):
    """The tax ID without spaces, dots or its two-letter country prefix."""
    body = NOT_ALNUM.sub("", text or "").upper()
    if len(body) > 2 and body[:2].isalpha():
        body = body[2:]
    return body or None


def email_clean(text):
    text = (text or "").strip().lower()
    return text if "@" in text else None


def split_name(full):
    """First and last word of a person's full name (`Family, Given` turned round)."""
    if not full:
        return None, None
    if "," in full:
        family, _, given = full.partition(",")
        full = f"{given} {family}"
    words = clean(full)
    if not words:
        return None, None
    words = [w for w in words.split(" ") if w not in ("jr", "sr", "jun", "sen", "junior", "senior")]
    if not words:
        return None, None
    return words[0], words[-1] if len(words) > 1 else None


def row(source, key, name, first, surname, dob, tax, email, phone, street, postcode, city):
    return {
        "unique_id": f"{source}:{key}",
        "source": source,
        "key": key,
        "name": clean(name),
        "first_name": clean(first),
        "surname": clean(surname),
        "dob": dob or None,
        "tax_id": tax_body(tax),
        "email": email_clean(email),
        "phone": phone_digits(phone),
        "street": clean(street),
        "postcode": (postcode or "").strip() or None,
        "city": clean(city),
    }


def read_sap(folder):
    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "sap", "*.xml"))):
        for _, element in ET.iterparse(path, events=("end",)):
            if element.tag != "E1KNA1M":
                continue
            field = lambda tag: element.findtext(tag)
            name = (field("NAME1") or "") + (field("NAME2") or "")
            person = field("KTOKD") == "CPDA"
            first, surname = split_name(name) if person else (None, None)
            key = (field("KUNNR") or "").lstrip("0")
            rows.append(
                row("sap", key, name, first, surname, None, field("STCEG"), None,
                    field("TELF1"), field("STRAS"), field("PSTLZ"), field("ORT01"))
            )
            element.clear()
    return rows


def read_erpnext(folder):
    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "erpnext", "*.jsonl"))):
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                r = json.loads(line)
                person = r.get("customer_type") == "Individual"
                first, surname = split_name(r.get("customer_name")) if person else (None, None)
                rows.append(
                    row("erpnext", r["name"], r.get("customer_name"), first, surname,
                        r.get("custom_date_of_birth"), r.get("tax_id"), r.get("email_id"),
                        r.get("mobile_no"), r.get("address_line1"), r.get("pincode"),
                        r.get("city"))
                )
    return rows


def iso_date(german):
    """`DD.MM.YYYY` as `YYYY-MM-DD`; None when it is not one."""
    parts = (german or "").strip().split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return f"{parts[2]:0>4}-{parts[1]:0>2}-{parts[0]:0>2}"


def read_distributor(folder):
    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "distributor", "*.csv"))):
        with open(path, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f, delimiter=";"):
                firma = r.get("Firma") or ""
                if firma.strip():
                    name, first, surname = firma, None, None
                else:
                    first, surname = r.get("Vorname"), r.get("Nachname")
                    name = f"{first or ''} {surname or ''}"
                rows.append(
                    row("distributor", r["Kundennr"].strip(), name, first, surname,
                        iso_date(r.get("Geburtsdatum")), r.get("USt-IdNr"), r.get("E-Mail"),
                        r.get("Telefon"), r.get("Strasse"), r.get("PLZ"), r.get("Ort"))
                )
    return rows


def compact_date(text):
    """`YYYYMMDD` as `YYYY-MM-DD`; None when it is not one."""
    text = (text or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def read_persons(folder):
    rows = []
    for source in ("a", "b"):
        with open(os.path.join(folder, "persons", f"{source}.csv"), encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                street = f"{r.get('street_number') or ''} {r.get('address_1') or ''}"
                rows.append(
                    row(source, r["rec_id"], f"{r.get('given_name') or ''} {r.get('surname') or ''}",
                        r.get("given_name"), r.get("surname"), compact_date(r.get("date_of_birth")), None, None,
                        None, street, r.get("postcode"), r.get("suburb"))
                )
    return rows


def customer_settings():
    """Splink's documented comparisons for these columns, term frequencies on names and streets."""
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("name").configure(term_frequency_adjustments=True),
            cl.ForenameSurnameComparison("first_name", "surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("tax_id"),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.7]).configure(
                term_frequency_adjustments=True
            ),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.JaroWinklerAtThresholds("city", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("tax_id"),
            block_on("phone"),
            block_on("email"),
            block_on("postcode", "substr(name, 1, 3)"),
            block_on("substr(name, 1, 4)", "city"),
            block_on("surname", "dob"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def person_settings():
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.ForenameSurnameComparison("first_name", "surname").configure(
                term_frequency_adjustments=True
            ),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.7]).configure(
                term_frequency_adjustments=True
            ),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.JaroWinklerAtThresholds("city", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("postcode"),
            block_on("surname", "dob"),
            block_on("first_name", "surname"),
            block_on("dob"),
            block_on("street", "city"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def reset_peak_rss():
    """Starts the peak RSS over from the current RSS (Linux `clear_refs`)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_mib():
    """VmHWM of this process, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def write_clusters(clusters, path):
    result = clusters.as_pandas_dataframe()[["source", "key", "cluster_id"]]
    result.to_csv(path, index=False, header=["source", "key", "cluster"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument(
        "--sweep",
        default="0.99,0.999,0.9999",
        help="more thresholds to cluster the same predictions at (clusters-THRESHOLD.csv), so "
        "Splink is not judged by one threshold alone; empty for none",
    )
    parser.add_argument("--persons", action="store_true")
    parser.add_argument(
        "--memory-limit",
        default="4GB",
        help="DuckDB's memory_limit (it spills to disk beyond it); its default is 80%% of RAM",
    )
    args = parser.parse_args()
    reset_peak_rss()
    started = time.monotonic()

    if args.persons:
        rows = read_persons(args.data)
        settings = person_settings()
        deterministic = [block_on("first_name", "surname", "dob")]
        em_rules = [block_on("dob"), block_on("postcode")]
    else:
        rows = read_sap(args.data) + read_erpnext(args.data) + read_distributor(args.data)
        settings = customer_settings()
        deterministic = [block_on("tax_id"), block_on("email")]
        em_rules = [block_on("tax_id"), block_on("phone")]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    del rows
    read_seconds = time.monotonic() - started

    os.makedirs(args.out, exist_ok=True)
    spill = os.path.join(args.out, "duckdb-spill")
    db_api = DuckDBAPI(
        duckdb.connect(config={"memory_limit": args.memory_limit, "temp_directory": spill})
    )
    linker = Linker(db_api.register(frame), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, record_sample_proportion=1.0
        )
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=args.threshold
    )
    write_clusters(clusters, os.path.join(args.out, "clusters.csv"))
    seconds = time.monotonic() - started
    sweep = [float(t) for t in args.sweep.split(",") if t.strip()]
    for threshold in sweep:
        write_clusters(
            linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=threshold
            ),
            os.path.join(args.out, f"clusters-{threshold}.csv"),
        )

    print(json.dumps({
        "records": len(frame),
        "read_seconds": round(read_seconds, 2),
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "threshold": args.threshold,
        "sweep": sweep,
        "splink": __import__("splink").__version__,
    }))


if __name__ == "__main__":
    sys.exit(main())
