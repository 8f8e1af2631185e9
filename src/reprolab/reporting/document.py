"""A report as a list of blocks, rendered twice: Markdown (reads on a git host, PNGs beside it)
and one self-contained HTML file (images embedded, no network). Inline text may use `code`,
**bold** and [links](target)."""

import base64
import html
import re
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.55em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
code { background: #f4f4f4; padding: 0 0.2em; border-radius: 3px; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
"""


def heading(level, text):
    return ("heading", level, text)


def paragraph(text):
    return ("paragraph", text)


def table(headers, rows):
    return ("table", headers, rows)


def image(path, alt):
    """A PNG at `path`, relative to the report's folder."""
    return ("image", path, alt)


def bullets(items):
    return ("bullets", items)


def _markdown_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks):
    lines = []
    for block in blocks:
        kind = block[0]
        if kind == "heading":
            lines += ["#" * block[1] + " " + block[2], ""]
        elif kind == "paragraph":
            lines += [block[1], ""]
        elif kind == "table":
            lines.append("| " + " | ".join(map(_markdown_cell, block[1])) + " |")
            lines.append("| " + " | ".join("---" for _ in block[1]) + " |")
            lines += ["| " + " | ".join(map(_markdown_cell, row)) + " |" for row in block[2]]
            lines.append("")
        elif kind == "image":
            lines += [f"![{block[2]}]({block[1]})", ""]
        elif kind == "bullets":
            lines += [f"- {item}" for item in block[1]] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _inline_html(text):
    text = html.escape(str(text), quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", lambda match: f'<a href="{_html_target(match.group(2))}">{match.group(1)}</a>', text)


def _html_target(target):
    """Links between reports point at the HTML twin of a Markdown page; the project README (outside
    reports/, so behind a `..`) stays the README."""
    if target.startswith("..") and target.endswith("README.md"):
        return target
    return re.sub(r"README\.md$", "report.html", re.sub(r"index\.md$", "index.html", target))


def _embedded(path, folder):
    data = base64.b64encode((Path(folder) / path).read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


def to_html(blocks, title, folder):
    """One HTML page with every image inlined as a data URI (read from `folder`)."""
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body>"]
    for block in blocks:
        kind = block[0]
        if kind == "heading":
            parts.append(f"<h{block[1]}>{_inline_html(block[2])}</h{block[1]}>")
        elif kind == "paragraph":
            parts.append(f"<p>{_inline_html(block[1])}</p>")
        elif kind == "table":
            header = "".join(f"<th>{_inline_html(cell)}</th>" for cell in block[1])
            body = "".join("<tr>" + "".join(f"<td>{_inline_html(cell)}</td>" for cell in row) + "</tr>" for row in block[2])
            parts.append(f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>")
        elif kind == "image":
            parts.append(f'<img src="{_embedded(block[1], folder)}" alt="{html.escape(block[2])}">')
        elif kind == "bullets":
            parts.append("<ul>" + "".join(f"<li>{_inline_html(item)}</li>" for item in block[1]) + "</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
