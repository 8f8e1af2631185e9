"""Faults that must not lose or corrupt results: failed writes, disk and permission errors."""

import json

import pytest

from reprolab import cli
from reprolab.atomic import atomic_path, write_json

from conftest import write_tiny_project


def test_a_write_that_fails_midway_leaves_the_previous_output_and_no_partial_file(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"test_error_percent": 5.0})
    with pytest.raises(OSError, match="No space left"):
        with atomic_path(target) as temporary:
            temporary.write_text('{"test_error_perc')
            raise OSError(28, "No space left on device")
    assert json.loads(target.read_text()) == {"test_error_percent": 5.0}
    assert [path.name for path in tmp_path.iterdir()] == ["metrics.json"]


def test_an_unwritable_output_is_a_one_line_error_naming_the_path(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_tiny_project(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "prepared").write_text("a file where a folder should be")
    assert cli.main(["configure"]) == 0
    assert cli.main(["run", "data/jobs/prepare-digits.json"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("reprolab run: error: could not read or write") and "data/prepared" in error
    assert "earlier outputs are unchanged" in error
