"""Sizes and ages as users write them (``storeBudget: 20GB``, ``--older-than 30d``)."""

import pytest

from launchdeck.core.housekeeping.amounts import format_size, parse_duration, parse_size


@pytest.mark.parametrize("text, expected", [
    ("20GB", 20_000_000_000), ("500 MB", 500_000_000), ("2GiB", 2 * 1024 ** 3),
    ("1.5gb", 1_500_000_000), ("100kB", 100_000), ("4096", 4096), ("1T", 10 ** 12),
    ("10M", 10_000_000),
])
def test_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "GB", "20 parsecs", "-5GB", "1e3"])
def test_not_sizes(text):
    assert parse_size(text) is None


@pytest.mark.parametrize("text, seconds", [
    ("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("45s", 45), ("2w", 14 * 86400),
    ("0s", 0), ("1.5h", 5400),
])
def test_ages(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "d", "1y", "3 days"])
def test_not_ages(text):
    assert parse_duration(text) is None


def test_sizes_are_shown_as_docker_shows_them():
    assert [format_size(n) for n in (512, 12_300, 4_100_000, 1_200_000_000)] == \
        ["512 B", "12.3 kB", "4.1 MB", "1.2 GB"]
