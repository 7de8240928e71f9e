"""How lmf prints its two units: sizes in bytes as megabytes, accuracies (fractions in [0, 1]
everywhere in code and in every file lmf writes) as percent or as a difference in points.

    mb(1_352_000)        -> '1.35 MB'     (decimal: 10**6 bytes, as disks and the size budget count)
    percent(0.82981)     -> '82.98 %'
    points(0.8298 - 0.8312) -> '-0.14 points'
    tolerance(1.0)       -> '1 point'     (a tolerance, given in points: 0.5 -> '0.5 points')
    in_percent(0.8298)   -> 82.98         (a number, for a chart's axis or a table's column)

Standard library only. Deliberately not here: measuring sizes (lmf.metrics.size_on_disk) or
accuracies (lmf.metrics.accuracy): only their printing, so that one rule rounds them everywhere.
"""
MB = 10**6


def megabytes(n_bytes):
    """`n_bytes` in decimal megabytes, a float (for a plot's axis or a table's number)."""
    return n_bytes / MB


def mb(n_bytes, digits=2):
    return f"{n_bytes / MB:.{digits}f} MB"


def in_percent(fraction):
    """A fraction as a number of percent (for a chart's axis or a table's column), None kept."""
    return None if fraction is None else 100 * fraction


def percent(fraction, digits=2):
    return f"{100 * fraction:.{digits}f} %"


def points(delta, digits=2, sign=True):
    """A difference of two accuracy fractions in percentage points: points(-0.0014) = '-0.14 points'."""
    return f"{100 * delta:{'+' if sign else ''}.{digits}f} points"


def tolerance(n_points):
    """A tolerance given in points (not a fraction), as a user typed it: '1 point', '0.5 points'."""
    shown = f"{n_points:g}"  # singular as printed: 1.0000001 shows as 1
    return f"{shown} point{'' if shown == '1' else 's'}"
