"""``backproplab check predictions.csv`` against right files, broken ones and hostile ones:
every problem with its line; a field of any length or any characters is a problem, never a
crash; no control character from the file reaches the terminal; a link, a FIFO or a file
that is not UTF-8 is refused with one clear error (exit status 2). And ``check.text``, the
one place that makes untrusted text safe to show."""

import csv
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backproplab.bounded import read_bounded
from backproplab.check.predictions import check_predictions
from backproplab.check.text import html, markdown, visible
from backproplab.errors import UsageError
from fixtures import write_batch, write_cifar

BIDI = set(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))


def csv_text(rows, header="Id,Category"):
    return "\n".join([header, *(f"{i},{k}" for i, k in rows)]) + "\n"


def raw_controls(text: str) -> list[str]:
    """The characters of ``text`` a terminal would act on: C0 but \\n, DEL and C1, bidi controls."""
    return [ch for ch in text if (ord(ch) < 32 and ch != "\n") or 127 <= ord(ch) <= 159 or ch in BIDI]


def run_cli(path):
    return subprocess.run([sys.executable, "-m", "backproplab", "check", str(path)], capture_output=True,
                          text=True, encoding="utf-8", errors="surrogateescape", timeout=120)


# ---- right and broken files ------------------------------------------------------------------

def test_a_right_predictions_file_passes_and_is_scored(tmp_path):
    folder = write_cifar(tmp_path / "data", n_per_batch=4, n_test=4)
    labels = np.arange(10_000) % 10
    write_batch(folder / "test_batch", 10_000, seed=1, labels=labels.tolist(),
                data=np.zeros((10_000, 3072), dtype=np.uint8))
    predicted = labels.copy()
    predicted[:250] = (predicted[:250] + 1) % 10  # 250 wrong of 10,000
    path = tmp_path / "predictions.csv"
    path.write_text(csv_text(zip(range(1, 10_001), predicted)))
    report = check_predictions(path, data_dir=tmp_path / "data")
    assert report.exit_status == 0 and not report.problems
    assert report.accuracy == pytest.approx(0.975)
    assert "97.50%" in report.text()


def test_every_problem_is_named_with_its_line(tmp_path):
    rows = [(i, i % 10) for i in range(1, 10_001)]
    rows[4] = (5, 11)  # line 6: a category out of range
    rows[9] = (9, 3)  # line 11: Id 9 again, so Id 10 is missing
    rows[19] = ("x", 1)  # line 21: not a number
    path = tmp_path / "predictions.csv"
    path.write_text(csv_text(rows, header="id,label"))
    report = check_predictions(path)
    text = report.text()
    assert report.exit_status == 1
    for expected in ("line 1: the header must be Id,Category", "line 6: Category '11'", "line 11: Id 9 again",
                     "line 21: Id 'x'", "3 Ids have no row: 5, 10, 20"):
        assert expected in text, text


def test_a_short_file_and_a_huge_one(tmp_path):
    short = tmp_path / "short.csv"
    short.write_text(csv_text([(1, 0), (2, 1)]))
    assert "holds 2 rows; 10,000 are expected" in check_predictions(short).text()
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as f:
        f.truncate(64 * 2**20)  # sparse: 64 MB of nothing
    with pytest.raises(UsageError, match="more than the"):
        check_predictions(huge)


def test_quoted_fields_and_windows_line_ends_are_read_as_csv_reads_them(tmp_path):
    path = tmp_path / "predictions.csv"
    rows = [f'"{i}","{i % 10}"' if i % 2 else f"{i},{i % 10}" for i in range(1, 10_001)]
    path.write_text("\ufeffId,Category\r\n" + "\r\n".join(rows) + "\r\n", encoding="utf-8")
    report = check_predictions(path)
    assert report.exit_status == 0, report.text()
    path.write_text(csv_text([(1, 0), ('"2\n3"', 1), (4, 2), ("5,6", 3)]))  # a line break inside quotes
    text = check_predictions(path).text()
    assert "line 3: Id '2\\n3' is not a whole number" in text, text
    assert "line 6: 3 fields; expected 2" in text, text


def test_the_cli_checks_a_predictions_file_with_the_exit_status(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text(csv_text([(i, 0) for i in range(1, 10_001)]))
    done = run_cli(path)
    assert done.returncode == 0 and "the format is right" in done.stdout, done.stderr
    path.write_text(csv_text([(i, 10) for i in range(1, 10_001)]))
    done = run_cli(path)
    assert done.returncode == 1 and "an autograder would reject this file" in done.stdout


# ---- the findings of the hostile-input review -----------------------------------------------

def test_a_200000_character_field_is_a_problem_on_its_line_not_a_crash(tmp_path):
    limit_before = csv.field_size_limit()
    path = tmp_path / "predictions.csv"
    rows = [(i, i % 10) for i in range(1, 10_001)]
    rows[1] = ("9" * 200_000, 1)  # line 3
    rows[2] = (3, "7" * 200_000)  # line 4
    rows[3] = ('"' + "x" * 200_000 + '"', 4)  # line 5, quoted
    rows[4] = ("0" * 200_000 + "5", 5)  # line 6: leading zeros, Id 5 as an autograder reads it
    path.write_text(csv_text(rows))
    report = check_predictions(path)
    text = report.text()
    assert "line 3: Id '99999" in text and "line 4: Category '77777" in text and "line 5: Id 'xxxx" in text, text
    assert "line 6" not in text and "3 Ids have no row: 2, 3, 4" in text, text
    assert "more characters)" in text and max(map(len, text.splitlines())) < 200  # echoed, cut short
    assert csv.field_size_limit() == limit_before  # no global state changed for other callers


@pytest.mark.parametrize("odd", ["²", "٣", "１", "+1", "-0", "1 2", "1.0", "1e1", "0x1", "\u00a01"])
def test_only_ascii_digits_are_ids_and_categories(tmp_path, odd):
    path = tmp_path / "predictions.csv"
    rows = [(i, i % 10) for i in range(1, 10_001)]
    rows[0] = (odd, 1)  # line 2
    rows[2] = (3, odd)  # line 4
    path.write_text(csv_text(rows), encoding="utf-8")
    report = check_predictions(path)
    text = report.text()
    assert report.exit_status == 1
    assert "line 2: Id '" in text and "line 4: Category '" in text, text
    assert "2 Ids have no row: 1, 3" in text and "the file holds 10,000 rows" not in text, text
    assert not raw_controls(text) and all(ch.isprintable() or ch == "\n" for ch in text)


def test_control_characters_in_the_file_never_reach_the_terminal(tmp_path):
    path = tmp_path / "predictions.csv"
    rows = [(i, i % 10) for i in range(1, 10_001)]
    rows[0] = ("\x1b[2J\x1b]0;owned\x07", 1)  # clears the screen, retitles the terminal
    rows[1] = ("2\u202e01", 2)  # shows as "210"
    rows[2] = (3, '"\r\x9b31m\u2028\u2066"')  # quoted: the carriage return is inside the field
    path.write_text(csv_text(rows, header="Id\x1b[31m,Category\u202e"), encoding="utf-8")
    text = check_predictions(path).text()
    assert "\\x1b[2J" in text and "\\u202e" in text and "line 4: Category '\\r\\x9b31m\\u2028\\u2066'" in text, text
    assert not raw_controls(text), text
    done = run_cli(path)
    assert done.returncode == 1 and "\\x1b[2J" in done.stdout, done.stderr
    assert not raw_controls(done.stdout) and not raw_controls(done.stderr)


def test_a_link_is_refused_and_its_target_never_shown(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-FIRST-LINE,x\n")
    link = tmp_path / "predictions.csv"
    link.symlink_to(secret)
    with pytest.raises(UsageError, match="is a symbolic link; give the file itself") as err:
        check_predictions(link)
    assert str(err.value).startswith(str(link))
    done = run_cli(link)
    assert done.returncode == 2 and "is a symbolic link; give the file itself" in done.stderr
    assert "SECRET" not in done.stdout + done.stderr
    # other readers still follow links (the default of read_bounded is unchanged)
    assert read_bounded(link, 100, UsageError) == secret.read_bytes()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "predictions.csv"
    os.mkfifo(fifo)
    outcome = []

    def check():
        try:
            check_predictions(fifo)
        except UsageError as err:
            outcome.append(str(err))

    thread = threading.Thread(target=check, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "check_predictions blocked on a FIFO"
    assert outcome and "is a FIFO" in outcome[0], outcome
    assert run_cli(fifo).returncode == 2


def test_a_file_that_is_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_bytes(b"Id,Category\n1,\xff\n")
    with pytest.raises(UsageError, match="not UTF-8 text"):
        check_predictions(path)


# ---- fuzzed files ----------------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=3000)  # any code point UTF-8 can hold
FIELD = st.one_of(st.integers(-3, 10_003).map(str), st.text(max_size=30),
                  st.sampled_from(["²", "٣", "\x1b[2J", "\u202e", '"', '""', ",", "\r", "\n", "9" * 5000]))
CSV_LIKE = st.lists(st.tuples(FIELD, FIELD), max_size=40).map(
    lambda rows: "Id,Category\n" + "\n".join(f"{a},{b}" for a, b in rows))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000) | ANY_TEXT.map(str.encode) | CSV_LIKE.map(str.encode))
def test_fuzzed_predictions_files_give_a_report_or_one_clear_error(tmp_path, data):
    path = tmp_path / "predictions.csv"
    path.write_bytes(data)
    try:
        report = check_predictions(path)
    except UsageError as err:
        assert str(err).startswith(str(path))
        return
    assert report.exit_status == 1 and report.problems  # nothing random is a valid file
    assert len(report.problems) <= 20
    text = report.text()
    assert not raw_controls(text) and all(ch.isprintable() or ch == "\n" for ch in text), text


# ---- check.text ------------------------------------------------------------------------------

ANY_CHARS = st.text(st.characters(exclude_categories=()), max_size=200)  # controls and lone surrogates too


def test_visible_escapes_what_a_terminal_or_a_browser_would_act_on():
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\x00\x7f\x85\x9b") == "\\x00\\x7f\\x85\\x9b"
    assert visible("exe\u202etxt\u2066\u2028\u2029") == "exe\\u202etxt\\u2066\\u2028\\u2029"
    assert visible("\ud800") == "\\ud800" and visible("\U000e0001") == "\\U000e0001"
    assert visible("a\nb\tc\r") == "a\\nb\\tc\\r"
    assert visible("a\nb\tc\r", keep_newlines=True) == "a\nb\tc\\r"
    assert visible("héllo, 世界 😀 C:\\x") == "héllo, 世界 😀 C:\\x"  # printable text is left alone


def test_visible_cuts_to_the_limit_and_says_how_much():
    assert visible("x" * 10, limit=10) == "x" * 10
    assert visible("x" * 200_000, limit=5) == "xxxxx… (199,995 more characters)"
    assert visible("ab\x1bcd", limit=5) == "ab… (3 more characters)"  # an escape is never cut in two
    assert visible("", limit=0) == "" and visible("a", limit=0) == "… (1 more character)"
    with pytest.raises(ValueError):
        visible("a", limit=-1)


def test_html_and_markdown():
    assert html('<script>"&\x1b') == "&lt;script&gt;&quot;&amp;\\x1b"
    assert markdown("a|b *c* [l](u) `x` \x1b") == "a\\|b \\*c\\* \\[l\\]\\(u\\) \\`x\\` \\\\x1b"


@given(text=ANY_CHARS, keep=st.booleans(), limit=st.none() | st.integers(0, 50))
def test_visible_never_lets_a_control_character_through(text, keep, limit):
    shown = visible(text, limit, keep_newlines=keep)
    kept = "\n\t" if keep else ""
    assert all(ch.isprintable() or ch in kept for ch in shown), shown
    assert not raw_controls(shown.replace("\t", "")) if keep else not raw_controls(shown)
    if limit is not None:
        assert len(shown.split("… (")[0]) <= limit
    h, m = html(text, limit), markdown(text, limit)
    assert "<" not in h and ">" not in h and all(ch.isprintable() for ch in h + m)


@given(text=st.text(st.characters(min_codepoint=32, max_codepoint=126)))
def test_plain_printable_ascii_is_unchanged(text):
    assert visible(text) == text
    assert visible(text, keep_newlines=True) == text
