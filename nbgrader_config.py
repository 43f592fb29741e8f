# nbgrader configuration of the course. `rlgrade` loads this file and adds the
# grading policy of autograder/course.py on top (stderr handling, resilient
# execution, feedback without hidden tests), which is not meant to be changed.
c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "learn-rl-pytorch"

# The gradebook: SQLite at the course root by default. For several grading
# machines use PostgreSQL, e.g. "postgresql://nbgrader@db-host/learn_rl".
# c.CourseDirectory.db_url = "sqlite:////path/to/course/gradebook.db"

# Per-cell time limit while autograding (nbgrader 0.9 reads Execute.timeout).
c.Execute.timeout = 120

# Files in source/<assignment>/ that are not copied into the release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".DS_Store"]

# The exchange used by `rlgrade release` / `rlgrade collect` on a shared JupyterHub.
# c.Exchange.root = "/srv/nbgrader/exchange"
