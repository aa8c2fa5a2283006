"""manage.py import_people --kind students sheet.xlsx [--dry-run] [--as admin] [--credentials-out f.csv]

Imports schools, teachers or students from an .xlsx or .csv sheet, exactly as the API does
(accounts.imports.engine): every row validated, all or nothing, idempotent. Prints the report
(errors by row and column) and exits non-zero when there is any error. Without --as it runs
with no scope limit (an operator at the server); with --as it runs in that administrator's scope.
The initial passwords of new accounts go to the --credentials-out file (mode 0600), never to
the terminal or the logs."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.imports.columns import KINDS
from accounts.imports.credentials import CredentialsSpool, decrypt_lines
from accounts.imports.engine import ImportReport, import_scope, people_import
from accounts.imports.readers import file_type
from accounts.models import ImportJob, User
from common.errors import ServiceError


class Command(BaseCommand):
    help = "Import schools, teachers or students from an .xlsx or .csv sheet (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", help=".xlsx or .csv file")
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--dry-run", action="store_true", help="validate and count only; write nothing")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="run in this administrator's scope (default: no scope limit)")
        parser.add_argument("--credentials-out", metavar="FILE",
                            help="where to write the initial passwords of new accounts "
                                 "(default: <sheet>-passwords-<job>.csv beside the sheet)")

    def handle(self, *args, path: str, kind: str, dry_run: bool, as_user: str | None,
               credentials_out: str | None, **options):
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"No such file: {source}")
        actor = None
        if as_user:
            actor = User.objects.filter(username=as_user).select_related("admin_profile").first()
            if actor is None:
                raise CommandError(f"No user named {as_user!r}.")
        try:
            file_type(source.name)
            scope = import_scope(actor)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc

        job = ImportJob.objects.create(
            kind=kind, dry_run=dry_run, created_by=actor, original_name=source.name[-255:],
            scope_level=scope.level, scope_region_id=scope.region_id, scope_school_id=scope.school_id,
            status=ImportJob.Status.RUNNING, started_at=timezone.now(),
        )
        out = Path(credentials_out) if credentials_out else source.with_name(
            f"{source.stem}-passwords-{job.pk}.csv")
        spool = CredentialsSpool(kind) if kind != "schools" else None

        def before_commit(report: ImportReport) -> None:
            if spool is not None and spool.count:
                descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "wb") as target:
                    for chunk in decrypt_lines(spool.rewind()):
                        target.write(chunk)

        try:
            with source.open("rb") as handle:
                report = people_import(kind=kind, file=handle, filename=source.name, actor=actor,
                                       dry_run=dry_run, credentials=spool, before_commit=before_commit,
                                       reason=f"import job {job.pk} (command line)")
        except ServiceError as exc:
            job.status, job.finished_at = ImportJob.Status.FAILED, timezone.now()
            job.save(update_fields=["status", "finished_at"])
            raise CommandError(exc.message) from exc
        finally:
            if spool is not None:
                spool.close()

        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.SUCCEEDED if report.ok else ImportJob.Status.FAILED,
            finished_at=timezone.now(), rows_total=report.rows, created_count=report.created,
            updated_count=report.updated, unchanged_count=report.unchanged,
            error_count=report.error_count, errors=report.errors,
            credentials_count=report.new_accounts if report.written else 0,
        )
        self._print(report, source, job.pk)
        if report.written and report.new_accounts:
            self.stdout.write(f"Initial passwords of {report.new_accounts} new accounts: {out} "
                              "(give them to the schools, then delete the file)")
        if not report.ok:
            raise CommandError(f"{report.error_count} error(s); nothing was written.")

    def _print(self, report: ImportReport, source: Path, job_id: int) -> None:
        mode = "dry run, nothing written" if report.dry_run else (
            "written" if report.ok else "nothing written")
        self.stdout.write(f"Import job {job_id}: {report.kind} from {source.name} ({mode})")
        self.stdout.write(f"  rows {report.rows}: created {report.created}, updated {report.updated}, "
                          f"unchanged {report.unchanged}")
        if report.error_count:
            self.stdout.write(f"  errors: {report.error_count}")
            for error in report.errors:
                where = f"row {error['row']}" if error["row"] is not None else "file"
                if error["column"]:
                    where += f", {error['column']}"
                self.stdout.write(f"    {where}: {error['message']}")
            if report.error_count > len(report.errors):
                self.stdout.write(f"    ... and {report.error_count - len(report.errors)} more")
