"""`check --starter`: the four files a student uploads, flat or in a folder, are graded inside a
copy of the course's starter package (starter.py's rule). The "starter" here is the correct
fixture package itself; the upload, a copy of its four files with one mistake planted."""

import os
import shutil

import pytest

from backproplab.check.grader import MODULE_FILES, check_package
from backproplab.check.starter import MAX_SOURCE_BYTES, assemble, assembled, learner_folder, starter_package
from backproplab.errors import UsageError
from check_mutations import CORRECT

STARTER = CORRECT / "neural_networks"
ARCTAN_SIGN = ("return dY / (1.0 + Z ** 2)", "return -dY / (1.0 + Z ** 2)")  # ArcTan.backward wrong, nothing else


def upload(folder, files=MODULE_FILES, mutate=None):
    """The learner's files, copied from the correct package into ``folder`` (activations.py
    with ``mutate`` = (old, new) applied)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        text = (STARTER / name).read_text()
        if mutate and name == "activations.py":
            assert mutate[0] in text
            text = text.replace(mutate[0], mutate[1], 1)
        (folder / name).write_text(text)
    return folder


def test_a_flat_upload_of_the_four_files_is_graded_inside_the_starter(tmp_path):
    sub = upload(tmp_path / "submission", mutate=ARCTAN_SIGN)
    with assembled(sub, CORRECT) as assembly:
        package = assembly.root / "neural_networks"
        assert sorted(assembly.from_learner) == sorted(MODULE_FILES)
        assert assembly.learner_dir == sub and not assembly.notes
        assert sorted(os.listdir(package)) == sorted(os.listdir(STARTER))  # weights.py, optimizers.py, __init__.py too
        assert "-dY" in (package / "activations.py").read_text()
        report = check_package(assembly.root, parts=["ArcTan.*", "ReLU.*"])
        root = assembly.root
    assert not root.exists()  # the temporary package is removed with the block
    assert {f.part: f.verdict for f in report.findings} == {"ArcTan.forward": "pass", "ArcTan.backward": "wrong",
                                                            "ReLU.forward": "pass", "ReLU.backward": "pass"}


@pytest.mark.parametrize("where", ["neural_networks", "hw6/neural_networks", "hw6"])
def test_the_files_are_found_in_a_package_folder_or_one_folder_deeper(tmp_path, where):
    sub = tmp_path / "submission"
    upload(sub / where)
    (sub / "__MACOSX" / "neural_networks").mkdir(parents=True)
    (sub / "__MACOSX" / "neural_networks" / "._layers.py").write_bytes(b"\x00\x05\x16\x07")
    assert learner_folder(sub) == (sub / where, [])
    assert starter_package(CORRECT) == starter_package(STARTER) == STARTER  # the folder holding it, or itself


def test_a_package_folder_wins_over_loose_copies_and_says_so(tmp_path):
    sub = upload(tmp_path / "submission", files=["layers.py"])
    upload(sub / "neural_networks")
    folder, notes = learner_folder(sub)
    assert folder == sub / "neural_networks"
    assert notes == ["the submission's top folder also holds layers.py: ignored; the files graded are those in "
                     "neural_networks"]


def test_two_copies_of_the_same_rank_are_refused(tmp_path):
    sub = tmp_path / "submission"
    upload(sub / "a")
    upload(sub / "b", files=["models.py"])
    with pytest.raises(UsageError, match="a and b each hold some of"):
        learner_folder(sub)


def test_links_are_never_followed(tmp_path):
    """A linked file is not read (the starter's copy is graded), a linked folder not entered."""
    secret = upload(tmp_path / "elsewhere", mutate=ARCTAN_SIGN)
    sub = upload(tmp_path / "submission", files=["layers.py", "losses.py", "models.py"])
    (sub / "activations.py").symlink_to(secret / "activations.py")
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "neural_networks").symlink_to(secret)
    with pytest.raises(UsageError, match="none of activations.py"):
        learner_folder(tmp_path / "linked")
    with assembled(sub, STARTER) as assembly:
        assert (assembly.root / "neural_networks" / "activations.py").read_text() == \
            (STARTER / "activations.py").read_text()
        assert "activations.py" not in assembly.from_learner
        assert assembly.notes == ["activations.py: a link, or not a regular file: never read",
                                  "activations.py: none taken from the submission, so the starter's copy, blanks and "
                                  "all, is graded"]


def test_which_other_files_are_taken(tmp_path):
    """The learner's own modules beside the four are taken; the starter's other files always
    come from the starter; names Python cannot import, FIFOs and other files are not."""
    sub = upload(tmp_path / "submission")
    (sub / "helpers.py").write_text("SCALE = 2\n")
    (sub / "weights.py").write_text("raise RuntimeError('an old copy')\n")
    (sub / "layers (1).py").write_text("")
    (sub / "notes.txt").write_text("")
    os.mkfifo(sub / "pipe.py")
    with assembled(sub, STARTER) as assembly:
        package = assembly.root / "neural_networks"
        assert sorted(assembly.from_learner) == sorted([*MODULE_FILES, "helpers.py"])
        assert (package / "weights.py").read_text() == (STARTER / "weights.py").read_text()
        assert not (package / "notes.txt").exists() and not (package / "pipe.py").exists()
        assert [n.split(":")[0] for n in assembly.notes] == ["layers (1).py", "pipe.py", "weights.py"]
        assert "the course's copy is graded" in assembly.notes[2]


def test_a_missing_file_is_the_starters_and_is_named(tmp_path):
    sub = upload(tmp_path / "submission", files=["activations.py"])
    with assembled(sub, STARTER) as assembly:
        assert assembly.from_learner == ["activations.py"]
        assert assembly.notes == ["layers.py, losses.py, models.py: none taken from the submission, so the starter's "
                                  "copy, blanks and all, is graded"]


def test_what_cannot_be_assembled_is_a_usage_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="none of activations.py"):
        learner_folder(empty)
    with pytest.raises(UsageError, match="no such folder"):
        learner_folder(tmp_path / "absent")
    partial = tmp_path / "starter" / "neural_networks"
    shutil.copytree(STARTER, partial)
    (partial / "losses.py").unlink()
    with pytest.raises(UsageError, match="lacks losses.py: not the course's starter"):
        starter_package(tmp_path / "starter")
    with pytest.raises(UsageError, match="no such folder"):
        starter_package(tmp_path / "nowhere")
    big = upload(tmp_path / "big")
    with open(big / "helpers.py", "wb") as f:
        f.truncate(MAX_SOURCE_BYTES + 1)
    with pytest.raises(UsageError, match="more than the"):
        assemble(big, STARTER, tmp_path / "into")
