"""Calls that block the thread: fine in a sync worker, a stall for every job on an event loop.

Shared by the rules for async jobs (ARQ job functions, Temporal `async def` activities) so they
agree on what blocks and what to use instead.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

_AWS = "`aioboto3`, or `asyncio.to_thread(...)`"
# Canonical qualified name (or a prefix ending in ".") -> what to use instead.
_BLOCKING = {
    "time.sleep": "`await asyncio.sleep(...)`",
    "requests.": "an async HTTP client (`httpx.AsyncClient`, `aiohttp`)",
    "urllib.request.urlopen": "an async HTTP client (`httpx.AsyncClient`, `aiohttp`)",
    "urllib3.": "an async HTTP client (`httpx.AsyncClient`, `aiohttp`)",
    "httpx.get": "`httpx.AsyncClient`",
    "httpx.post": "`httpx.AsyncClient`",
    "httpx.put": "`httpx.AsyncClient`",
    "httpx.patch": "`httpx.AsyncClient`",
    "httpx.delete": "`httpx.AsyncClient`",
    "httpx.head": "`httpx.AsyncClient`",
    "httpx.request": "`httpx.AsyncClient`",
    "httpx.stream": "`httpx.AsyncClient`",
    "httpx.Client": "`httpx.AsyncClient`",
    "subprocess.run": "`asyncio.create_subprocess_exec(...)`",
    "subprocess.call": "`asyncio.create_subprocess_exec(...)`",
    "subprocess.check_call": "`asyncio.create_subprocess_exec(...)`",
    "subprocess.check_output": "`asyncio.create_subprocess_exec(...)`",
    "subprocess.getoutput": "`asyncio.create_subprocess_exec(...)`",
    "subprocess.getstatusoutput": "`asyncio.create_subprocess_exec(...)`",
    "os.system": "`asyncio.create_subprocess_shell(...)`",
    "os.popen": "`asyncio.create_subprocess_shell(...)`",
    "open": "`asyncio.to_thread(...)` around the file I/O, or `aiofiles`",
    "io.open": "`asyncio.to_thread(...)` around the file I/O, or `aiofiles`",
    "pathlib.Path.read_text": "`asyncio.to_thread(...)`",
    "pathlib.Path.read_bytes": "`asyncio.to_thread(...)`",
    "pathlib.Path.write_text": "`asyncio.to_thread(...)`",
    "pathlib.Path.write_bytes": "`asyncio.to_thread(...)`",
    "shutil.copy": "`asyncio.to_thread(...)`",
    "shutil.copyfile": "`asyncio.to_thread(...)`",
    "shutil.copytree": "`asyncio.to_thread(...)`",
    "shutil.rmtree": "`asyncio.to_thread(...)`",
    "shutil.move": "`asyncio.to_thread(...)`",
    # Archives: opening one reads its index, extracting or building one copies every member.
    "shutil.unpack_archive": "`asyncio.to_thread(...)`",
    "shutil.make_archive": "`asyncio.to_thread(...)`",
    "zipfile.ZipFile": "`asyncio.to_thread(...)` around the archive work",
    "tarfile.open": "`asyncio.to_thread(...)` around the archive work",
    "gzip.open": "`asyncio.to_thread(...)` around the file I/O",
    "socket.create_connection": "`asyncio.open_connection(...)`",
    "socket.socket": "`asyncio.open_connection(...)`",
    "fcntl.flock": "an asyncio lock, or `asyncio.to_thread(...)`",
    "fcntl.lockf": "an asyncio lock, or `asyncio.to_thread(...)`",
    "filelock.": "an asyncio lock, or `asyncio.to_thread(...)`",
    "psycopg2.": "an async driver (`asyncpg`, `psycopg` async connections)",
    "psycopg.connect": "`psycopg.AsyncConnection.connect(...)`",
    "pymysql.": "an async driver (`aiomysql`, `asyncmy`)",
    "MySQLdb.": "an async driver (`aiomysql`, `asyncmy`)",
    "sqlite3.connect": "`aiosqlite`",
    "redis.Redis": "`redis.asyncio.Redis`",
    "redis.StrictRedis": "`redis.asyncio.Redis`",
    "redis.from_url": "`redis.asyncio.from_url(...)`",
    "pymongo.MongoClient": "`motor` or `pymongo.AsyncMongoClient`",
    # Making a client or a resource resolves credentials (a request to the instance metadata
    # service, at worst) and reads botocore's data files; the requests are the calls on what
    # they return (`aws_request`). The rest of boto3 (a `Session`, which reads nothing until it
    # makes a client, `TransferConfig`, `TypeSerializer`, conditions) builds values without I/O.
    "boto3.client": _AWS,
    "boto3.resource": _AWS,
    "smtplib.SMTP": "`aiosmtplib`",
    "smtplib.SMTP_SSL": "`aiosmtplib`",
    "django.core.mail.send_mail": "`asyncio.to_thread(...)`",
    "sqlalchemy.create_engine": "`sqlalchemy.ext.asyncio.create_async_engine(...)`",
    "sqlalchemy.orm.Session": "`sqlalchemy.ext.asyncio.AsyncSession`",
    "sqlmodel.Session": "`sqlmodel.ext.asyncio.session.AsyncSession`",  # SQLAlchemy's, subclassed
    "urllib.request.urlretrieve": "an async HTTP client (`httpx.AsyncClient`, `aiohttp`)",
    "mysql.connector.connect": "an async driver (`aiomysql`, `asyncmy`)",
    "pyodbc.connect": "`aioodbc`, or `asyncio.to_thread(...)`",
    "oracledb.connect": "`oracledb.connect_async(...)`",
    "elasticsearch.Elasticsearch": "`elasticsearch.AsyncElasticsearch`",
    "pika.BlockingConnection": "`aio-pika`",
    "kafka.KafkaProducer": "`aiokafka`",
    "kafka.KafkaConsumer": "`aiokafka`",
    "ftplib.FTP": "`aioftp`, or `asyncio.to_thread(...)`",
    "paramiko.SSHClient": "`asyncssh`, or `asyncio.to_thread(...)`",
    # Libraries that run another program and wait for it (exiftool, wkhtmltopdf).
    "exiftool.ExifToolHelper": "`asyncio.to_thread(...)` around the exiftool run",
    "exiftool.ExifTool": "`asyncio.to_thread(...)` around the exiftool run",
    "pydf.generate_pdf": "`asyncio.to_thread(...)` around the PDF rendering",
    "pdfkit.from_string": "`asyncio.to_thread(...)` around the PDF rendering",
    "pdfkit.from_url": "`asyncio.to_thread(...)` around the PDF rendering",
    "pdfkit.from_file": "`asyncio.to_thread(...)` around the PDF rendering",
}
_PREFIXES = tuple(prefix for prefix in _BLOCKING if prefix.endswith("."))
# Prefixes under a blocking package that are async, or build values without I/O, and are fine.
_ASYNC_EXCEPTIONS = (
    "redis.asyncio.",
    "psycopg.AsyncConnection",
    "httpx.AsyncClient",
    "requests.exceptions.",
    "requests.auth.",
    "requests.structures.",
    "requests.models.",
    "requests.Request",
    "requests.adapters.HTTPAdapter",
    "urllib3.util.",
    "urllib3.exceptions.",
    "psycopg2.sql.",
    "psycopg2.errors.",
    "psycopg2.extras.Json",
    "psycopg2.extensions.",
    "filelock.Timeout",
)
# Exception classes are called to be raised, not to do I/O (`requests.HTTPError(...)`).
_EXCEPTION_SUFFIXES = ("Error", "Exception", "Warning", "Timeout")


def blocking_call(qualname: str | None) -> str | None:
    """For a call's canonical qualified name, what to use instead if it blocks; else None."""
    if not qualname or qualname.startswith(_ASYNC_EXCEPTIONS) or qualname.endswith(_EXCEPTION_SUFFIXES):
        return None
    found = _BLOCKING.get(qualname)
    if found is not None or not qualname.startswith(_PREFIXES):
        return found
    return next(instead for prefix, instead in _BLOCKING.items() if prefix in _PREFIXES and qualname.startswith(prefix))


_BOTO3_FACTORIES = frozenset({"boto3.client", "boto3.resource"})
_BOTO3_SESSIONS = frozenset({"boto3.Session", "boto3.session.Session"})
# Calls on a client or resource that build something locally: no request is sent.
_BOTO3_LOCAL = frozenset(
    {
        "get_paginator",
        "get_waiter",
        "can_paginate",
        "generate_presigned_url",
        "generate_presigned_post",
        "close",
    }
)
# Resource sub-objects (`s3.Bucket("b")`, `table = dynamodb.Table("t")`) are made lazily, without
# a request: their actions are the requests.
_BOTO3_LAZY = frozenset({"Bucket", "Object", "Table", "Queue", "Topic", "Instance", "Volume", "ObjectSummary"})
_MAX_BINDINGS = 4  # names followed back to the client they hold


def aws_request(call: ast.Call, model: ModuleModel, scope: Scope) -> str | None:
    """What to use instead when a call sends a request through a boto3 client or resource
    (`s3.upload_file(...)` on `s3 = boto3.client("s3")`, `boto3.resource("s3").Bucket(b).put_object(...)`)
    or makes one from a session (`session.client("s3")`); None for anything else, and for calls
    that build a paginator, a waiter, a presigned URL or a resource's sub-object locally."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr in ("client", "resource"):  # a session making one, as `boto3.client` does
        return _AWS if _boto3_session(func.value, model, scope, 0) else None
    if func.attr in _BOTO3_LOCAL or func.attr in _BOTO3_LAZY:
        return None
    return _AWS if _boto3_object(func.value, model, scope, 0) else None


# Sync SDK clients whose constructor sends nothing, but whose every call (on the client or on a
# resource it holds: `client.tasks.list()`) is a request, by canonical class -> what to use instead.
_SYNC_CLIENTS = {
    "minio.Minio": "`asyncio.to_thread(...)` around the transfer",
    "label_studio_sdk.LabelStudio": "`label_studio_sdk.AsyncLabelStudio`",
    "label_studio_sdk.client.LabelStudio": "`label_studio_sdk.AsyncLabelStudio`",
    "openai.OpenAI": "`openai.AsyncOpenAI`",
    "anthropic.Anthropic": "`anthropic.AsyncAnthropic`",
    "slack_sdk.WebClient": "`slack_sdk.web.async_client.AsyncWebClient`",
    "slack_sdk.web.WebClient": "`slack_sdk.web.async_client.AsyncWebClient`",
    "slack_sdk.web.client.WebClient": "`slack_sdk.web.async_client.AsyncWebClient`",
    "google.cloud.storage.Client": "`asyncio.to_thread(...)`",
    "twilio.rest.Client": "`asyncio.to_thread(...)`",
    "ldap3.Connection": "`asyncio.to_thread(...)`",
}
# Calls on such a client that build something locally (a presigned URL, a copy of its options).
_CLIENT_LOCAL = frozenset(
    {"close", "presigned_get_object", "presigned_put_object", "get_presigned_url", "with_options", "copy"}
)
_MAX_CHAIN = 3  # attributes between a client and the method called (`client.tasks.list`)


def client_request(call: ast.Call, model: ModuleModel, scope: Scope) -> tuple[str, str] | None:
    """(the callee, what to use instead) when a call sends a request through a sync client made
    in this module: a boto3 client or resource (`aws_request`), or an SDK client from
    `_SYNC_CLIENTS` made in the call itself or bound to a name (`client = Minio(...)` then
    `client.put_object(...)`, `client.users.list()`). None otherwise: a client made elsewhere
    is the call graph's to find (`sync_client_call`)."""
    aws = aws_request(call, model, scope)
    if aws is not None:
        return ast.unparse(call.func), aws
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr in _CLIENT_LOCAL:
        return None
    attributes = [func.attr]
    root = func.value
    while isinstance(root, ast.Attribute) and len(attributes) <= _MAX_CHAIN:
        attributes.append(root.attr)
        root = root.value
    cls = _client_class(root, model, scope)
    if cls is None:
        return None
    return f"{cls}.{'.'.join(reversed(attributes))}", _SYNC_CLIENTS[cls]


def request_of(call: ast.Call, model: ModuleModel, scope: Scope, function: ast.AST) -> tuple[str, str] | None:
    """`client_request`, and a request through a sync client that a project factory in any
    module returns (`client = s3_client()` in `function`, then `client.put_object(...)`)."""
    from jobs_lint.semantic.call_sites import Callees

    found = client_request(call, model, scope)
    if found is not None or not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return found
    site = Callees(model, function, None).factory_method(call) if isinstance(call.func, ast.Attribute) else None
    return model.index.calls.client_request(site) if site is not None else None


def _client_class(node: ast.expr, model: ModuleModel, scope: Scope) -> str | None:
    """The `_SYNC_CLIENTS` class an expression makes, or that the one name binding it makes."""
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.Call):
            return None
        node, scope = found[0][0], found[1]
    if not isinstance(node, ast.Call):
        return None
    cls = model.qualname(node.func, scope)
    return cls if cls in _SYNC_CLIENTS else None


def sync_client_call(target: str) -> str | None:
    """For `minio.Minio.put_object` (a class and what is called on its instance, as the call
    graph names a call on what a project factory returns), what to use instead if it is a
    request through a `_SYNC_CLIENTS` client; else None."""
    for cls, instead in _SYNC_CLIENTS.items():
        if target.startswith(f"{cls}."):
            called = target[len(cls) + 1 :].split(".")
            return None if called[-1] in _CLIENT_LOCAL or len(called) > _MAX_CHAIN + 1 else instead
    return None


def _boto3_object(node: ast.expr, model: ModuleModel, scope: Scope, depth: int) -> bool:
    """Whether an expression holds a boto3 client or resource (or a resource's sub-object)."""
    if depth > _MAX_BINDINGS:
        return False
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.Call):
            return False
        return _boto3_object(found[0][0], model, found[1], depth + 1)
    if not isinstance(node, ast.Call):
        return False
    if model.qualname(node.func, scope) in _BOTO3_FACTORIES:
        return True
    func = node.func
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr in ("client", "resource"):
        return _boto3_session(func.value, model, scope, depth + 1)
    return func.attr in _BOTO3_LAZY and _boto3_object(func.value, model, scope, depth + 1)


def _boto3_session(node: ast.expr, model: ModuleModel, scope: Scope, depth: int) -> bool:
    if isinstance(node, ast.Name) and depth <= _MAX_BINDINGS:
        found = model.lookup(node.id, scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.Call):
            return False
        node, scope = found[0][0], found[1]
    return isinstance(node, ast.Call) and model.qualname(node.func, scope) in _BOTO3_SESSIONS


# I/O that is fine on an event loop but still I/O: what a Temporal workflow must leave to activities.
_ASYNC_IO = (
    "httpx.AsyncClient",
    "aiohttp.",
    "asyncpg.",
    "aiosqlite.",
    "aiomysql.",
    "asyncmy.",
    "motor.",
    "redis.asyncio.",
    "psycopg.AsyncConnection",
    "sqlalchemy.ext.asyncio.",
    "aiofiles.",
    "aioboto3.",
    "aiosmtplib.",
    "asyncio.open_connection",
    "asyncio.open_unix_connection",
    "asyncio.create_subprocess_exec",
    "asyncio.create_subprocess_shell",
)
# Calls that read or change the file system without blocking for long.
_FILE_SYSTEM = frozenset(
    {
        "os.listdir",
        "os.scandir",
        "os.walk",
        "os.stat",
        "os.remove",
        "os.unlink",
        "os.rename",
        "os.replace",
        "os.mkdir",
        "os.makedirs",
        "os.rmdir",
        "os.path.exists",
        "os.path.isfile",
        "os.path.isdir",
        "os.path.getsize",
        "os.path.getmtime",
        "glob.glob",
        "glob.iglob",
        "pathlib.Path.open",
        "pathlib.Path.exists",
        "pathlib.Path.iterdir",
        "pathlib.Path.glob",
        "pathlib.Path.mkdir",
        "pathlib.Path.unlink",
        "tempfile.NamedTemporaryFile",
        "tempfile.TemporaryFile",
        "tempfile.mkstemp",
        "tempfile.mkdtemp",
        "tempfile.TemporaryDirectory",
    }
)
_NOT_IO = frozenset({"time.sleep"})
# Calls that run another program: they take as long as it does.
_LONG_CALLS = (
    "subprocess.",
    "os.system",
    "os.popen",
    "asyncio.create_subprocess_exec",
    "asyncio.create_subprocess_shell",
)


def long_call(qualname: str) -> bool:
    """Whether a call runs another program (`subprocess.run`, `asyncio.create_subprocess_exec`)."""
    return qualname.startswith(_LONG_CALLS) and not qualname.endswith(_EXCEPTION_SUFFIXES)


def quick_io(qualname: str) -> bool:
    """File-system calls that return at once (a stat, a listing, a temporary directory): I/O, but
    never what makes work long."""
    return qualname in _FILE_SYSTEM or qualname.startswith(("aiofiles.os.", "aiofiles.tempfile."))


def io_call(qualname: str | None) -> bool:
    """Whether a call does I/O (files, sockets, HTTP, databases, subprocesses), blocking or not."""
    if not qualname or qualname in _NOT_IO:
        return False
    return (
        qualname in _FILE_SYSTEM
        or qualname.startswith(_ASYNC_IO)
        or qualname.startswith(_ASYNC_EXCEPTIONS)
        or blocking_call(qualname) is not None
    )
