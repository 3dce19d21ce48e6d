"""``RequestInformation`` builders for what msgraph-sdk 1.65 does not generate.

The SDK has no builders for creating preview or recovery jobs, nor for the bound functions ``getChanges``
and ``getFailedChanges``; its ``getByIds`` builder cannot carry ``$select``. These requests are built here
and sent through the same request adapter as the typed calls, so authentication, the CAE challenge,
redirects and the other middleware all apply.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from kiota_abstractions.method import Method
from kiota_abstractions.native_response_handler import NativeResponseHandler
from kiota_abstractions.request_information import RequestInformation
from kiota_http.middleware.options import ResponseHandlerOption

from entrabr_tui.core.model import NAMESPACE, FilteringCriteria, JobKind

_SNAPSHOT = "{+baseurl}/directory/recovery/snapshots/{snapshot%2Did}"
_QUERY = "{?%24top,%24skip,%24filter,%24select}"
CREATE_TEMPLATES = {
    JobKind.PREVIEW: f"{_SNAPSHOT}/recoveryPreviewJobs",
    JobKind.RECOVERY: f"{_SNAPSHOT}/recoveryJobs",
}
#: v1.0 spells bound functions namespace-qualified; Graph accepts that spelling on beta too.
GET_CHANGES_TEMPLATE = (
    f"{_SNAPSHOT}/recoveryPreviewJobs/{{job%2Did}}/{NAMESPACE}.getChanges{_QUERY}"
)
GET_FAILED_CHANGES_TEMPLATE = (
    f"{_SNAPSHOT}/recoveryJobs/{{job%2Did}}/{NAMESPACE}.getFailedChanges{_QUERY}"
)
MAX_PAGE_SIZE = 999
GET_BY_IDS_TEMPLATE = "{+baseurl}/directoryObjects/getByIds{?%24select}"


def _with_json_accept(info: RequestInformation) -> RequestInformation:
    info.headers.try_add("Accept", "application/json")
    return info


def native_response(info: RequestInformation) -> RequestInformation:
    """Make the adapter hand back the raw ``httpx.Response`` (status and headers such as ``Location``)."""
    info.add_request_options([ResponseHandlerOption(NativeResponseHandler())])
    return info


def function_url(base_url: str, template: str, snapshot_id: str, job_id: str, *, top: int | None) -> str:
    """The absolute URL of the first page of ``getChanges`` / ``getFailedChanges``."""
    info = RequestInformation(
        Method.GET, template, {"baseurl": base_url, "snapshot%2Did": snapshot_id, "job%2Did": job_id}
    )
    if top is not None:
        if not 1 <= top <= MAX_PAGE_SIZE:
            raise ValueError(f"top must be between 1 and {MAX_PAGE_SIZE}, not {top}")
        info.query_parameters["%24top"] = top
    # Show "$top" rather than "%24top" so stored resume URLs read like Graph's own next links.
    return str(info.url).replace("?%24", "?$").replace("&%24", "&$")


def get_url(url: str) -> RequestInformation:
    """A GET of an absolute URL (a first page or an opaque ``@odata.nextLink``)."""
    info = RequestInformation(Method.GET)
    info.url = url
    return _with_json_accept(info)


def create_job(kind: JobKind, snapshot_id: str, criteria: FilteringCriteria | None) -> RequestInformation:
    """POST a new preview (difference report) or recovery job; the reply is 202 + ``Location``."""
    info = RequestInformation(Method.POST, CREATE_TEMPLATES[kind], {"snapshot%2Did": snapshot_id})
    if criteria is not None:
        body: dict[str, Any] = {"filteringCriteria": criteria.to_json()}
        info.content = orjson.dumps(body)
        info.headers.try_add("Content-Type", "application/json")
    return native_response(_with_json_accept(info))


def get_by_ids(ids: list[str], types: list[str], select: list[str]) -> RequestInformation:
    """POST ``/directoryObjects/getByIds`` for ``ids`` of ``types``, returning only the ``select``ed
    properties (on v1.0 users carry a limited default set unless ``$select`` names what is wanted)."""
    info = RequestInformation(Method.POST, GET_BY_IDS_TEMPLATE)
    info.query_parameters["%24select"] = ",".join(select)
    info.content = orjson.dumps({"ids": ids, "types": types})
    info.headers.try_add("Content-Type", "application/json")
    return _with_json_accept(info)


def job_id_from_location(location: str) -> str | None:
    """The job id at the end of a ``Location`` URL (``…/recoveryJobs/{id}`` or ``…/recoveryJobs('{id}')``)."""
    path = urlsplit(location.strip()).path.rstrip("/")
    if not path:
        return None
    last = path.rsplit("/", 1)[-1]
    if last.endswith("')") and "('" in last:
        last = last[last.index("('") + 2 : -2]
    job_id = unquote(last)
    return job_id or None
