"""`rlgrade`: the course's command line for instructors and TAs.

rlgrade build [ASSIGNMENT ...]       regenerate release/, solutions/, assignments/, demo/
rlgrade release ASSIGNMENT           build, then release to the nbgrader exchange
rlgrade collect ASSIGNMENT [--zip F] collect from the exchange or an LMS zip download
rlgrade autograde ASSIGNMENT         grade submitted/ into the gradebook, print a table
rlgrade regrade ASSIGNMENT           grade everyone again after the assignment changed
rlgrade feedback ASSIGNMENT          HTML feedback without hidden tests
rlgrade export [--to grades.csv]     the gradebook as CSV
rlgrade demo                         all of it on the demo submissions
"""

from __future__ import annotations

import argparse
import shutil
import sys
import warnings
from pathlib import Path

from autograder.course import Course, CourseError


def print_table(assignment: str, results: list) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{assignment}: autograde results")
    for column in ("student", "status", "score", "max", "failed checks", "problems"):
        table.add_column(column, overflow="fold")
    for r in results:
        table.add_row(
            r.student,
            r.status,
            f"{r.score:g}",
            f"{r.max_score:g}",
            "\n".join(r.failed_checks) or "-",
            "\n".join(r.problems) or "-",
        )
    Console(width=160).print(table)


def cmd_build(course: Course, args: argparse.Namespace) -> int:
    from autograder.build import build

    for name in build(course, args.assignments):
        print(f"built {name}: release/{name}, solutions/{name}, assignments/{name}, demo/submitted")
    return 0


def cmd_release(course: Course, args: argparse.Namespace) -> int:
    from autograder.build import build

    build(course, [args.assignment])
    outcome = course.api().release_assignment(args.assignment)
    if outcome is None or not outcome["success"]:
        raise CourseError(
            "nbgrader release_assignment failed (is c.Exchange.root set in nbgrader_config.py "
            f"and writable?): {'' if outcome is None else outcome.get('error') or outcome.get('log')}"
        )
    print(f"released {args.assignment} to the exchange")
    return 0


def cmd_collect(course: Course, args: argparse.Namespace) -> int:
    from autograder.collect import collect_exchange, collect_zip

    if args.zip is None:
        print(collect_exchange(course, args.assignment))
        return 0
    result = collect_zip(course, args.assignment, Path(args.zip))
    print(f"collected {len(result.students)} submission(s): {', '.join(result.students) or '-'}")
    for line in result.skipped:
        print(f"  skipped {line}")
    return 0


def cmd_autograde(course: Course, args: argparse.Namespace) -> int:
    from autograder.grading import autograde

    results = autograde(
        course, args.assignment, args.student or None, force=args.force, workers=args.workers, dask=args.dask
    )
    print_table(args.assignment, results)
    return 0


def cmd_regrade(course: Course, args: argparse.Namespace) -> int:
    from autograder.grading import regrade

    results, notes = regrade(course, args.assignment, workers=args.workers, dask=args.dask)
    print_table(args.assignment, results)
    for note in notes:
        print(f"  {note}")
    return 0


def cmd_feedback(course: Course, args: argparse.Namespace) -> int:
    from autograder.feedback import generate_feedback
    from autograder.grading import submitted_students

    students = args.student or submitted_students(course, args.assignment)
    failures = generate_feedback(course, args.assignment, students)
    for student, reason in failures.items():
        print(f"  no feedback for {student}: {reason}")
    print(f"feedback written to {course.feedback} for {len(students) - len(failures)} student(s)")
    return 0


def cmd_export(course: Course, args: argparse.Namespace) -> int:
    from autograder.export import export_csv

    print(f"grades exported to {export_csv(course, Path(args.to))}")
    return 0


def cmd_demo(course: Course, args: argparse.Namespace) -> int:
    """Build, grade the demo submissions into gradebook.db, write feedback and grades.csv."""
    from autograder import demo
    from autograder.build import build, sync_gradebook
    from autograder.export import export_csv
    from autograder.feedback import generate_feedback
    from autograder.grading import autograde, regrade

    for assignment in build(course):
        staged = demo.demo_root(course)
        for student_dir in sorted(staged.iterdir()):
            target = course.submitted / student_dir.name / assignment
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(student_dir / assignment, target)
        if sync_gradebook(course, assignment):
            results, notes = regrade(course, assignment)
            print("\n".join(f"  {note}" for note in notes))
        else:
            results = autograde(course, assignment, list(demo.STUDENTS), force=True)
        print_table(assignment, results)
        graded = [r.student for r in results if r.status != "failed"]
        generate_feedback(course, assignment, graded)
        print(f"feedback: {course.feedback}/<student>/{assignment}/*.html")
    print(f"grades: {export_csv(course, course.root / 'grades.csv')}")
    print(f"gradebook: {course.gradebook_path}")
    return 0


def add_where_options(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--workers",
        type=int,
        default=None,
        help="notebooks run at once on this machine (default: one per core)",
    )
    s.add_argument(
        "--dask",
        metavar="ADDRESS|FILE.py",
        default=None,
        help="run the notebooks on a Dask cluster: a scheduler address (tcp://host:8786) or a Python "
        "file defining cluster() (e.g. a dask-jobqueue SLURMCluster); the gradebook stays here",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rlgrade", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--course", type=Path, default=None, help="course root (default: found from the current folder)"
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code without isolation (no bubblewrap): only for submissions you trust",
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("build", help="regenerate everything generated from source/")
    s.add_argument("assignments", nargs="*")
    s.set_defaults(run=cmd_build)
    s = sub.add_parser("release", help="build and release to the nbgrader exchange")
    s.add_argument("assignment")
    s.set_defaults(run=cmd_release)
    s = sub.add_parser("collect", help="collect submissions (exchange, or --zip from an LMS)")
    s.add_argument("assignment")
    s.add_argument("--zip", help="an LMS zip download")
    s.set_defaults(run=cmd_collect)
    s = sub.add_parser("autograde", help="autograde submissions into the gradebook")
    s.add_argument("assignment")
    s.add_argument("--student", action="append", help="only this student (repeatable)")
    s.add_argument("--force", action="store_true", help="regrade submissions already graded")
    add_where_options(s)
    s.set_defaults(run=cmd_autograde)
    s = sub.add_parser(
        "regrade", help="grade everyone again after the assignment changed (keeps manual scores)"
    )
    s.add_argument("assignment")
    add_where_options(s)
    s.set_defaults(run=cmd_regrade)
    s = sub.add_parser("feedback", help="generate HTML feedback (hidden tests removed)")
    s.add_argument("assignment")
    s.add_argument("--student", action="append")
    s.set_defaults(run=cmd_feedback)
    s = sub.add_parser("export", help="export grades as CSV")
    s.add_argument("--to", default="grades.csv")
    s.set_defaults(run=cmd_export)
    s = sub.add_parser("demo", help="grade the demo submissions end to end")
    s.set_defaults(run=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # nbgrader's gradebook triggers SQLAlchemy autoflush warnings that mean nothing to a TA.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    try:
        sandbox = not args.no_sandbox
        course = Course(args.course.resolve(), sandbox) if args.course else Course.find(sandbox=sandbox)
        if not sandbox and args.command in ("autograde", "regrade", "demo"):
            print("rlgrade: warning: --no-sandbox: student code runs with your permissions", file=sys.stderr)
        return args.run(course, args)
    except CourseError as exc:
        print(f"rlgrade: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
