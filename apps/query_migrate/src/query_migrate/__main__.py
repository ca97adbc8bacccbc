"""``python -m query_migrate``: the same as the ``query-migrate`` console script."""

from query_migrate.cli import main

if __name__ == "__main__":
    main()
