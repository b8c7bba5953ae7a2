# Helpers shared by the rule files (kept out of the files that hold rules).
import shlex


def fail(exc):
    """One clear line naming the file, key and value; no traceback, and no job has run."""
    print(f"scalinglaws: {exc}", file=sys.stderr)
    sys.exit(1)


def shell_prefix(text):
    """Every job's shell starts with this: the `scalinglaws` function, then `text` (braces
    escaped, as Snakemake formats the prefix)."""
    shell.prefix(f"set -euo pipefail; {RUN_PACKAGE}{text}".replace("{", "{{").replace("}", "}}"))


def figure_files(ext, names):
    """Figure paths of every (dataset, family) curve of the study."""
    return [f"{RESULTS}/figures/{d}.{f}.{fig}.{ext}" for d, f in STUDY.curves() for fig in names]


# What a snakemake invocation does besides running jobs; none of these may change the store.
NOT_RUNNING = ("dryrun", "touch", "summary", "detailed_summary", "list_changes", "list_input_changes",
               "list_params_changes", "list_untracked", "dag", "rulegraph", "filegraph", "d3dag", "unlock",
               "cleanup_metadata", "report", "lint", "containerize", "generate_unit_tests", "archive",
               "delete_all_output", "delete_temp_output", "list_rules", "list_target_rules", "print_compilation",
               "conda_create_envs_only", "conda_cleanup_envs", "list_conda_envs", "cleanup_shadow",
               "container_cleanup_images", "export_cwl")  # fmt: skip


def command_line():
    """This `snakemake` command's parsed command line (snakemake.cli.args_to_api's `args`): the
    Snakefile is parsed before Snakemake says what it will do. None when it cannot be found (the
    Python API)."""
    frame = sys._getframe()
    while frame is not None and not (frame.f_code.co_name == "args_to_api" and "args" in frame.f_locals):
        frame = frame.f_back
    return None if frame is None else frame.f_locals["args"]


def dag_settings():
    """This command's DAG settings (--forcerun and the like), while the Snakefile is parsed:
    Snakemake hands them to the workflow only after the parse, from its DAG API, whose
    __post_init__ parses the Snakefile; None when they cannot be found."""
    from snakemake.api import DAGApi

    frame = sys._getframe()
    while frame is not None and not isinstance(frame.f_locals.get("self"), DAGApi):
        frame = frame.f_back
    return None if frame is None else frame.f_locals["self"].dag_settings


def runs_jobs():
    """Whether this `snakemake` command will run jobs (unknown: assume not)."""
    args = command_line()
    return args is not None and not any(getattr(args, flag, None) for flag in NOT_RUNNING)


def check_store(study):
    """Repair the study's damaged stored files in a run that runs jobs; else only report them."""
    if runs_jobs():
        for line in integrity.repair(study, integrity.check(study, remember=True)):
            print(f"scalinglaws: {line}", file=sys.stderr)
        return
    # (the cache of files that passed is no result: a dry run keeps it too, as Snakemake its iocache)
    found = integrity.check(study, remember=True)
    damaged = [*map(str, found), *map(study.data_file, integrity.missing_data(study))]
    for path in damaged:
        print(f"scalinglaws: {path} is damaged or missing; a real run will repair it", file=sys.stderr)
    if getattr(command_line(), "dryrun", False):
        # The real run moves a damaged record aside, so its job trains again: a dry run lists that
        # job too (forced, as --forcerun FILE would), and with it what follows. Nothing is moved.
        records = {str(p) for p in found if p.name == store.ENTRY_FILES["runs"]}
        settings = dag_settings()
        if records and settings is not None:
            settings.forcerun = frozenset(settings.forcerun) | records


def external_options(external):
    """The optional `scalinglaws fit` arguments, from the config's `external` section."""
    flags = {"group": "--group", "holdout_col": "--holdout-col", "replicate_col": "--replicate-col", "eps0": "--eps0", "starts": "--starts", "where": "--where"}
    args = [f"{flag} {shlex.quote(str(external[key]))}" for key, flag in flags.items() if key in external]
    args += [f"--derive {shlex.quote(f'{name}={expr}')}" for name, expr in external.get("derive", {}).items()]
    return " ".join(args)
