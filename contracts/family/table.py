"""The README's table of the bundled catalogue, made from the pages themselves (a test holds
the README to it): `python -m contracts.family.table`."""

from __future__ import annotations

from contracts.family.bundled import bundled_pages


def catalogue_table() -> str:
    rows = ["| model | kind | takes | facts (source, date) |", "|---|---|---|---|"]
    for page in sorted(bundled_pages(), key=lambda page: page.model_id):
        required = ", ".join(f"`{name}`" for name in page.input_schema.get("required", [])) or "nothing required"
        source, date = page.document.get("x-apikley-source", ""), page.document.get("x-apikley-facts-date", "")
        rows.append(f"| `{page.model_id}` | {page.output} | {required} | [docs]({source}), {date} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(catalogue_table(), end="")
