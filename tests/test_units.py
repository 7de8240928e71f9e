"""lmf.units: the module docstring's worked examples, and a tolerance in the singular only at 1."""
from lmf.units import in_percent, mb, megabytes, percent, points, tolerance


def test_the_worked_examples():
    """1,352,000 bytes are 1.352 decimal MB, printed to 2 digits; 0.82981 is 82.98 %; 0.8298 - 0.8312
    is -0.0014, that is -0.14 points (signed); None stays None as a number of percent."""
    assert (mb(1_352_000), megabytes(1_352_000)) == ("1.35 MB", 1.352)
    assert percent(0.82981) == "82.98 %"
    assert points(0.8298 - 0.8312) == "-0.14 points" and points(0.005, sign=False) == "0.50 points"
    assert in_percent(0.8298) == 82.98 and in_percent(None) is None


def test_a_tolerance_is_singular_at_one_point_only():
    """Singular as printed: 1.0000001 prints as 1 with :g."""
    assert [tolerance(x) for x in (1, 1.0, 1.0000001, 0.5, 2, 0)] == [
        "1 point", "1 point", "1 point", "0.5 points", "2 points", "0 points"]
