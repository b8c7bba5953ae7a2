# Helpers shared by the rule files (kept out of the files that hold rules).


def fail(exc):
    """One clear line naming the file, key and value; no traceback, and no job has run."""
    print(f"scalinglaws: {exc}", file=sys.stderr)
    sys.exit(1)


def figure_files(ext, names):
    """Figure paths of every (dataset, family) curve of the study."""
    return [f"{RESULTS}/figures/{d}.{f}.{fig}.{ext}" for d, f in STUDY.curves() for fig in names]
