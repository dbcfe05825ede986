"""The training command's options that choose its data (no training here: CI never trains)."""

from __future__ import annotations

import pytest

from lab.train import DATA_PARTS, Settings, parse_da_rows, parse_parts


def test_da_rows_all_lifts_every_cap():
    caps = parse_da_rows("all", Settings().da_per_lp)
    assert set(caps) == set(Settings().da_per_lp)
    assert all(n is None for n in caps.values())


def test_da_rows_sets_named_pairs_and_keeps_the_rest():
    default = Settings().da_per_lp
    caps = parse_da_rows("uk-en=all,is-en=10", default)
    assert caps["uk-en"] is None and caps["is-en"] == 10
    assert caps["ja-en"] == default["ja-en"] and caps["ru-en"] == default["ru-en"]


@pytest.mark.parametrize("text", ["xx-en=5", "uk-en", "uk-en=many"])
def test_da_rows_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        parse_da_rows(text, Settings().da_per_lp)


@pytest.mark.parametrize("option", [["--parts", "da,mq"], ["--da-rows", "xx-en=5"]])
def test_train_refuses_a_misspelt_data_option_before_reading_data(option, tmp_path, capsys):
    from lab.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["train", str(tmp_path / "no-data"), "--out", str(tmp_path / "model"), *option])
    assert stop.value.code == 2
    assert option[0] in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


def test_parts_reads_known_names_and_refuses_others():
    assert parse_parts("da, mqm") == ("da", "mqm")
    assert Settings().parts == DATA_PARTS
    with pytest.raises(ValueError, match="mq"):
        parse_parts("da,mq")
