"""A client generated from /openapi.json (openapi-python-client) used as a team scripting against Muster would:
declare a run, complete a task, be refused with a typed error, read the report. Run by scripts/api-contract with
the generated package on PYTHONPATH; arguments: BASE_URL TOKEN. Exits non-zero on the first surprise."""
import json
import sys

from muster_api_client import AuthenticatedClient
from muster_api_client.api.runs import declare_run, get_run, get_run_report, run_command
from muster_api_client.models import DeclareRunBody, Error, ErrorCode, RunCommandTaskDone, RunCommandResponse200, RunStatus
from muster_api_client.models.get_run_report_format import GetRunReportFormat

base, token = sys.argv[1], sys.argv[2]
client = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True)


def expect(condition, what):
    if not condition:
        sys.exit(f"api-client-check: {what}")


run = declare_run.sync(client=client, body=DeclareRunBody(playbook="ransomware-file-servers", title="Generated client", disruption_started="15m"))
expect(isinstance(run, RunStatus), f"declare answered {run!r}")
task = run.tasks[0].tasks[0].id
done = run_command.sync(run.id, client=client, body=RunCommandTaskDone(type_="task-done", task=task, note="done by a generated client"))
expect(isinstance(done, RunCommandResponse200) and any(e.type_ == "task-completed" for e in done.events), f"task-done answered {done!r}")
again = run_command.sync(run.id, client=client, body=RunCommandTaskDone(type_="task-done", task=task))
expect(isinstance(again, Error) and again.code == ErrorCode.REJECTED and again.status == 409, f"a second task-done answered {again!r}")
missing = get_run.sync("r-000000", client=client)
expect(isinstance(missing, Error) and missing.code == ErrorCode.NOT_FOUND, f"an unknown run answered {missing!r}")
html = get_run_report.sync(run.id, client=client)
expect(isinstance(html, str) and "Generated client" in html, "the HTML report")
report = json.loads(get_run_report.sync_detailed(run.id, client=client, format_=GetRunReportFormat.JSON).content)
expect(report["schema"] == "muster-report/1" and report["run"]["id"] == run.id, "the JSON report")
print(f"api-client-check: declared {run.id}, completed {task}, refused with {again.code.value}, read the report: ok")
