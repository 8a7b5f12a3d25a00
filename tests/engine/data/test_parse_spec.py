import pytest

from engine.data import DataError, parse_spec


@pytest.mark.parametrize(
    ("text", "source", "name", "path", "target"),
    [
        ("builtin:spirals", "builtin", "spirals", "", ""),
        ("download:mnist", "download", "mnist", "", ""),
        ("download:Fashion-MNIST", "download", "fashion-mnist", "", ""),
        ("folder:/data/pets", "folder", "", "/data/pets", ""),
        ("idx:~/mnist", "idx", "", "~/mnist", ""),
        ("csv:houses.csv", "csv", "", "houses.csv", ""),
        ("csv:houses.csv:target=price", "csv", "", "houses.csv", "price"),
        ("csv:C:\\data\\h.csv:target=price", "csv", "", "C:\\data\\h.csv", "price"),
        ("text:poems.txt", "text", "", "poems.txt", ""),
    ],
)
def test_spec_strings_parse(text, source, name, path, target):
    spec = parse_spec(text)
    assert (spec.source, spec.name, spec.path, spec.target) == (source, name, path, target)


def test_unknown_source_lists_the_sources():
    with pytest.raises(DataError, match="unknown source 'ftp'.*builtin, folder, idx, csv, text, download"):
        parse_spec("ftp:somewhere")


def test_missing_path_part_is_explained():
    with pytest.raises(DataError, match="folder needs a path after the colon"):
        parse_spec("folder:")


def test_unknown_builtin_lists_the_names():
    with pytest.raises(DataError, match="no built-in data set 'spiral'.*spirals"):
        parse_spec("builtin:spiral")


def test_unknown_download_lists_the_names():
    with pytest.raises(DataError, match="cifar10"):
        parse_spec("download:imagenet")


def test_bare_builtin_name_suggests_the_spec():
    with pytest.raises(DataError, match="did you mean builtin:moons"):
        parse_spec("moons")


def test_csv_target_needs_a_column_name():
    with pytest.raises(DataError, match="target=COLUMN"):
        parse_spec("csv:d.csv:target=")
