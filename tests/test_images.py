"""Images in and out: folders made by the tests (nested jpg/png, a corrupt file, a non-image
file), and the grid that draws samples."""

import numpy as np
import pytest

from kgen import cli, data
from kgen.config import Data
from kgen.errors import ConfigError, DataError
from kgen.recipes import celeba_gan

from helpers.files import make_folder


def test_folder_loads_crops_and_skips_bad_files(tmp_path, capsys):
    folder = make_folder(tmp_path / "faces")
    cfg = Data(name="image_folder", path=str(folder), image_size=32, channels=3, scale="symmetric")
    bundle = data.load(cfg, seed=0)
    out = capsys.readouterr().out
    assert "skipped 1 unreadable image file(s)" in out and "broken.jpg" in out
    assert bundle.num_train + len(bundle.test_images) == 24  # 25 image files, one corrupt
    assert bundle.train_images.shape[1:] == (32, 32, 3) and bundle.train_images.dtype == np.uint8
    centre = bundle.train_images[:, 12:20, 12:20].mean()
    corner = bundle.train_images[:, :3, :3].mean()
    assert centre > 180 and corner < 70  # the centre square survived cropping, background at the edges
    assert "1 unreadable skipped" in bundle.origin


def test_limit_tops_up_past_bad_files_and_shuffles_with_seed(tmp_path):
    folder = make_folder(tmp_path / "faces")
    cfg = Data(name="image_folder", path=str(folder), image_size=16, channels=3, limit=20)
    a, b = data.load(cfg, seed=0), data.load(cfg, seed=0)
    assert a.num_train == 20  # the corrupt file was replaced by another one
    assert np.array_equal(a.train_images, b.train_images)


def test_empty_and_missing_folders_explain_the_fix(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"no \.jpg/\.jpeg/\.png images found .*1 other files.*img_align_celeba"):
        data.load(Data(name="image_folder", path=str(tmp_path / "empty")))
    with pytest.raises(DataError, match="no --data.path was given.*--data.path=/path/to/img_align_celeba"):
        data.load(Data(name="image_folder"))
    with pytest.raises(DataError, match="not a folder"):
        data.load(Data(name="image_folder", path=str(tmp_path / "nowhere")))


def test_tfds_celeb_a_failure_is_explained(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(DataError, match="'celeb_a' could not be loaded .*no network.*manual_dir"):
        data.load(Data(name="celeb_a", image_size=64, channels=3))


def test_celeba_gan_without_data_exits_with_help(capsys, tmp_path):
    code = cli.main(celeba_gan.RECIPE, [f"--train.logdir={tmp_path}"])
    assert code == 1
    assert "img_align_celeba" in capsys.readouterr().err


def test_a_separate_test_folder_leaves_every_training_image_to_training(tmp_path):
    train_folder = make_folder(tmp_path / "train")
    test_folder = make_folder(tmp_path / "held_out", n=6)
    cfg = Data(name="image_folder", path=str(train_folder), test_path=str(test_folder), image_size=16, channels=3)
    bundle = data.load(cfg, seed=0)
    assert bundle.num_train == 24  # all 24 readable images of the training folder (one is corrupt)
    assert len(bundle.test_images) == 6  # the held-out folder's, none taken from training
    assert "6 held out from" in bundle.origin
    with pytest.raises(DataError, match="--data.test_path=.*not a folder"):
        data.load(Data(name="image_folder", path=str(train_folder), test_path=str(tmp_path / "nowhere")))


def test_options_that_would_not_be_read_are_refused(capsys, tmp_path):
    """--quick reads the bundled sample, so a --data.path beside it is refused with the fix
    instead of being silently ignored."""
    code = cli.main(celeba_gan.RECIPE, ["--quick", f"--data.path={tmp_path}", f"--train.logdir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--data.path={tmp_path} would not be read" in err and "--data.name=image_folder" in err
    with pytest.raises(ConfigError, match="test_path=.* only with data.name=image_folder"):
        data.load(Data(name="mnist_sample", test_path=str(tmp_path)))


def test_quick_face_runs_say_they_train_on_digits():
    from kgen import runs

    quick = runs.resolve(celeba_gan.RECIPE, {}, quick=True)[0]
    assert "trains on MNIST digits resized to 128x128x3 here, not on faces" in cli.digits_notice(celeba_gan.RECIPE, quick)
    assert "--data.path=/path/to/img_align_celeba" in cli.digits_notice(celeba_gan.RECIPE, quick)
    on_faces = runs.resolve(celeba_gan.RECIPE, {"data.path": "/faces"})[0]
    assert cli.digits_notice(celeba_gan.RECIPE, on_faces) is None


def test_a_grid_draws_diverged_pixels_black_and_clips_the_rest():
    from kgen import figures

    images = np.array([np.nan, np.inf, -np.inf, 0.5, 2.0, -1.0], np.float32).reshape(6, 1, 1, 1)
    picture = figures.grid(images, cols=6, pad=0)
    assert picture[0, :, 0].tolist() == [0, 255, 0, 128, 255, 0]
