#!/usr/bin/env python3
"""Query an lpacs cohort from Python with requests.

Usage: LPACS_URL=http://127.0.0.1:4000/graphql LPACS_TOKEN=lpat_... \
       python3 examples/cohort_client.py CT
Prints the counts of the cohort of one modality and its first studies,
as JSON.
"""
import json
import os
import sys

import requests

QUERY = """
query ($filter: CohortFilter, $first: Int) {
  cohort(filter: $filter) {
    counts { patients studies series instances }
    studies(first: $first) { nodes { studyInstanceUID modalities instanceCount } }
  }
}
"""


def cohort(modality: str, first: int = 5) -> dict:
    response = requests.post(
        os.environ.get("LPACS_URL", "http://127.0.0.1:4000/graphql"),
        json={"query": QUERY, "variables": {"filter": {"modality": [modality]}, "first": first}},
        headers={"Authorization": f"Bearer {os.environ['LPACS_TOKEN']}"},
        timeout=60,
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        # Errors name the problem, e.g. {"code": "BAD_USER_INPUT", "field": "modality"}.
        raise RuntimeError(body["errors"][0]["message"])
    return body["data"]["cohort"]


if __name__ == "__main__":
    print(json.dumps(cohort(sys.argv[1] if len(sys.argv) > 1 else "CT"), indent=2))
