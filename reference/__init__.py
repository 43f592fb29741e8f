"""Reference scripts that use the course's reference solutions (not shipped to students)."""
