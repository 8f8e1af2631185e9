"""The reporting side: study pages, figures, tables, verdicts and the index, read from finished runs."""
