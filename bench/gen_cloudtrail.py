"""Generate a realistic synthetic CloudTrail stream, deterministic for a seed.

A mix of IAM users, assumed-role sessions (with and without MFA), AWS services, root
and federated users; many event names across services; ~4% errors (AccessDenied,
throttling, missing entities); console logins with failures; ``resources`` and request
parameters. Events are written as they are made, so memory does not grow with N.

Credentials live as they do in CloudTrail. Each role is assumed by 1-4 workloads
(instances, tasks, CI runners); a workload's session is one ASIA key and one session name
used for 20-400 calls within 15-60 minutes, from the workload's address in the role's
network (CI runners: a new public address per job), with one SDK user agent, before the
workload assumes the role again. Root and federated sign-ins are sessions too, each from
a public address of its own. IAM users keep their AKIA key and their usual tool (nine calls in ten) and
work from one place for 20-200 calls: mostly their office /24, sometimes one of a pool of
500 public addresses or an address never seen before; moving from one place to the next
takes them 15-90 minutes without calls.

    python bench/gen_cloudtrail.py 1000000 out.jsonl            # JSON lines
    python bench/gen_cloudtrail.py 100000 out.json --records 500 # S3-style Records files
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import orjson

ACCOUNTS = ["111122223333", "444455556666", "777788889999"]
REGIONS = ["us-east-1", "us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
SERVICES: dict[str, list[tuple[str, bool]]] = {
    "s3": [("GetObject", True), ("PutObject", False), ("ListBuckets", True),
           ("GetBucketPolicy", True), ("DeleteObject", False), ("HeadObject", True)],
    "ec2": [("DescribeInstances", True), ("RunInstances", False), ("DescribeSecurityGroups", True),
            ("AuthorizeSecurityGroupIngress", False), ("DescribeVolumes", True),
            ("CreateSnapshot", False), ("TerminateInstances", False)],
    "iam": [("ListUsers", True), ("GetUser", True), ("CreateAccessKey", False),
            ("AttachUserPolicy", False), ("CreateUser", False), ("ListRoles", True),
            ("PutRolePolicy", False), ("UpdateAssumeRolePolicy", False), ("AddUserToGroup", False)],
    "sts": [("AssumeRole", False), ("GetCallerIdentity", True), ("GetSessionToken", False),
            ("AssumeRoleWithWebIdentity", False)],
    "kms": [("Decrypt", True), ("GenerateDataKey", True), ("Encrypt", True)],
    "lambda": [("Invoke", False), ("ListFunctions20150331", True),
               ("UpdateFunctionCode20150331v2", False)],
    "secretsmanager": [("GetSecretValue", True), ("ListSecrets", True)],
    "ssm": [("GetParameter", True), ("SendCommand", False), ("StartSession", False)],
    "logs": [("CreateLogStream", False), ("PutLogEvents", False), ("DescribeLogGroups", True)],
    "cloudtrail": [("LookupEvents", True), ("StopLogging", False), ("DescribeTrails", True)],
    "monitoring": [("PutMetricData", False), ("GetMetricData", True)],
    "dynamodb": [("GetItem", True), ("Query", True), ("PutItem", False)],
}  # fmt: skip
ERRORS = [
    ("AccessDenied", "User: {arn} is not authorized to perform: {action}"),
    ("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
    ("ThrottlingException", "Rate exceeded"),
    ("NoSuchEntityException", "The user with name ghost cannot be found."),
    ("ResourceNotFoundException", "Secret not found"),
]
AGENTS = [
    "aws-cli/2.15.10 Python/3.11.6 Linux/6.2.0 exe/x86_64.ubuntu.22 prompt/off command/s3.ls",
    "Boto3/1.34.20 md/Botocore#1.34.20 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.1",
    "aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.48.0",
    "console.amazonaws.com",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0",
]
WORKLOAD_AGENTS = [agent for agent in AGENTS if "Linux" in agent or "linux" in agent]
SESSION_CALLS = (20, 400)
USER_STRETCH = (20, 200)
"""Calls an IAM user makes from one place before moving to another."""
"""Calls one set of temporary credentials makes before its holder assumes the role again."""
AWS_SERVICE_CALLERS = ["ec2.amazonaws.com", "lambda.amazonaws.com", "cloudformation.amazonaws.com",
                       "ssm.amazonaws.com", "autoscaling.amazonaws.com"]  # fmt: skip


class Session:
    """One set of temporary credentials: an ASIA key used for many calls from one place."""

    __slots__ = ("agent", "created", "expires", "ip", "key", "left", "mfa", "name")

    def __init__(self, rng: random.Random, when: datetime, name: str, ip: str, agent: str) -> None:
        self.key = "ASIA" + _key(rng)
        self.name = name
        self.ip = ip
        self.agent = agent
        self.created = when - timedelta(seconds=rng.randint(0, 30))
        self.expires = when + timedelta(minutes=rng.randint(15, 60))
        self.left = rng.randint(*SESSION_CALLS)
        self.mfa = "true" if rng.random() < 0.3 else "false"

    def live(self, when: datetime) -> bool:
        return self.left > 0 and when < self.expires


class Worker:
    """A workload that assumes a role: an instance, a task or a CI job runner."""

    __slots__ = ("agent", "external", "instance", "ip", "session")

    def __init__(self, rng: random.Random, net: str, external: bool) -> None:
        self.ip = f"{net}.{rng.randint(1, 254)}"
        self.external = external  # CI runners: every job comes from a new public address
        self.instance = f"i-{rng.getrandbits(68):017x}" if rng.random() < 0.4 else None
        self.agent = rng.choice(WORKLOAD_AGENTS)
        self.session: Session | None = None


class User:
    """An IAM user with a long-lived AKIA key, working from one place for a stretch of calls.

    Most stretches are at the office /24; some from a pool of 500 public addresses (home,
    VPN) and some from an address never seen before (travel). Between two places the user
    is away for 15-90 minutes and makes no calls.
    """

    __slots__ = ("acct", "agent", "away_until", "ip", "key", "left", "name", "net", "pid")

    def __init__(self, rng: random.Random, acct: str, name: str) -> None:
        self.acct = acct
        self.name = name
        self.key = "AKIA" + _key(rng)
        self.pid = "AIDA" + _key(rng)
        self.net = _net(rng)
        self.agent = rng.choice(AGENTS)
        self.ip = f"{self.net}.{rng.randint(1, 16)}"
        self.left = rng.randint(*USER_STRETCH)
        self.away_until = datetime.min.replace(tzinfo=UTC)

    def call(self, rng: random.Random, pool: list[str], when: datetime) -> tuple[str, str]:
        """Source address and user agent of the next call (the caller checked ``away_until``)."""
        self.left -= 1
        if self.left <= 0:
            roll = rng.random()
            if roll < 0.7:
                self.ip = f"{self.net}.{rng.randint(1, 16)}"
            elif roll < 0.85:
                self.ip = rng.choice(pool)
            else:
                self.ip = _public(rng)
            self.left = rng.randint(*USER_STRETCH)
            self.away_until = when + timedelta(minutes=rng.randint(15, 90))
        return self.ip, self.agent if rng.random() < 0.9 else rng.choice(AGENTS)


class Population:
    """Principals to draw from, fixed by the seed."""

    def __init__(self, rng: random.Random) -> None:
        self.users = [User(rng, acct, f"user{i:03d}") for i in range(200) for acct in [rng.choice(ACCOUNTS)]]
        self.roles: list[tuple[str, str, str, list[Worker]]] = []
        for i, prefix in enumerate(["Deploy", "ReadOnly", "Admin", "CI", "Lambda"] * 20):
            acct = ACCOUNTS[i % len(ACCOUNTS)]
            net = _net(rng)  # the VPC egress (or NAT) network of the role's workloads
            external = prefix in ("CI", "Deploy") and rng.random() < 0.5
            workers = [Worker(rng, net, external) for _ in range(rng.randint(1, 4))]
            self.roles.append((acct, f"{prefix}-{i}", f"AROA{_key(rng)}", workers))
        self.ips = [_public(rng) for _ in range(500)]
        self.root: dict[str, Session] = {}
        self.federated: dict[str, Session] = {}


def _key(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def _public(rng: random.Random) -> str:
    return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _net(rng: random.Random) -> str:
    return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"


def _identity(rng: random.Random, pop: Population, when: datetime) -> tuple[dict[str, Any], str, str, str]:
    """``(userIdentity, account, source address, user agent)`` of the next call."""
    roll = rng.random()
    if roll < 0.35:
        user = rng.choice(pop.users)
        for _ in range(50):  # someone else calls while this user is away
            if user.away_until <= when:
                break
            user = rng.choice(pop.users)
        acct, name, key, pid = user.acct, user.name, user.key, user.pid
        arn = f"arn:aws:iam::{acct}:user/{name}"
        ip, agent = user.call(rng, pop.ips, when)
        return {"type": "IAMUser", "principalId": pid, "arn": arn, "accountId": acct,
                "accessKeyId": key, "userName": name}, acct, ip, agent  # fmt: skip
    if roll < 0.85:
        acct, role, rid, workers = rng.choice(pop.roles)
        worker = rng.choice(workers)
        session = worker.session
        if session is None or not session.live(when):
            name = worker.instance or f"{role.lower()}-{rng.getrandbits(40):010x}"
            ip = _public(rng) if worker.external else worker.ip
            session = worker.session = Session(rng, when, name, ip, worker.agent)
        session.left -= 1
        return (
            {
                "type": "AssumedRole",
                "principalId": f"{rid}:{session.name}",
                "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{session.name}",
                "accountId": acct,
                "accessKeyId": session.key,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": rid,
                        "arn": f"arn:aws:iam::{acct}:role/{role}",
                        "accountId": acct,
                        "userName": role,
                    },
                    "webIdFederationData": {},
                    "attributes": {
                        "creationDate": session.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "mfaAuthenticated": session.mfa,
                    },
                },
            },
            acct,
            session.ip,
            session.agent,
        )
    if roll < 0.95:
        acct = rng.choice(ACCOUNTS)
        caller = rng.choice(AWS_SERVICE_CALLERS)
        return {"type": "AWSService", "invokedBy": caller}, acct, caller, caller
    if roll < 0.98:
        acct = rng.choice(ACCOUNTS)
        session = _session(rng, pop.root, acct, when, "root")
        return {"type": "Root", "principalId": acct, "arn": f"arn:aws:iam::{acct}:root",
                "accountId": acct, "accessKeyId": session.key}, acct, session.ip, session.agent  # fmt: skip
    user = rng.choice(pop.users)
    acct, name, pid = user.acct, user.name, user.pid
    session = _session(rng, pop.federated, f"{acct}:{name}", when, name)
    return (
        {
            "type": "FederatedUser",
            "principalId": f"{acct}:{name}",
            "arn": f"arn:aws:sts::{acct}:federated-user/{name}",
            "accountId": acct,
            "accessKeyId": session.key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "IAMUser",
                    "principalId": pid,
                    "arn": f"arn:aws:iam::{acct}:user/{name}",
                    "accountId": acct,
                    "userName": name,
                }
            },
        },
        acct,
        session.ip,
        session.agent,
    )


def _session(rng: random.Random, held: dict[str, Session], who: str, when: datetime, name: str) -> Session:
    """The live session of a person (root, federated user), signing in again when it ended;
    each sign-in comes from an address of its own."""
    session = held.get(who)
    if session is None or not session.live(when):
        session = held[who] = Session(rng, when, name, _public(rng), rng.choice(AGENTS))
    session.left -= 1
    return session


def events(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``n`` CloudTrail records in time order."""
    rng = random.Random(seed)
    pop = Population(rng)
    when = datetime(2024, 6, 1, tzinfo=UTC)
    services = list(SERVICES)
    for _ in range(n):
        when += timedelta(milliseconds=rng.randint(0, 400))
        identity, acct, ip, agent = _identity(rng, pop, when)
        if rng.random() < 0.01:
            service, name, read_only = "signin", "ConsoleLogin", False
        else:
            service = rng.choice(services)
            name, read_only = rng.choice(SERVICES[service])
        source = f"{service}.amazonaws.com"
        region = rng.choice(REGIONS)
        record: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": agent,
            "requestParameters": _params(rng, service, name, acct, region),
            "responseElements": None,
            "requestID": str(uuid.UUID(int=rng.getrandbits(128))),
            "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "managementEvent": service not in ("s3", "dynamodb"),
            "recipientAccountId": acct,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"{service}.{region}.amazonaws.com",
            },
        }
        if service == "signin":
            record["eventType"] = "AwsConsoleSignIn"
            ok = rng.random() < 0.8
            record["responseElements"] = {"ConsoleLogin": "Success" if ok else "Failure"}
            record["additionalEventData"] = {"MFAUsed": rng.choice(["Yes", "No"]),
                                             "LoginTo": "https://console.aws.amazon.com/"}  # fmt: skip
            if not ok:
                record["errorMessage"] = "Failed authentication"
        elif rng.random() < 0.04:
            code, message = rng.choice(ERRORS)
            record["errorCode"] = code
            record["errorMessage"] = message.format(arn=identity.get("arn", ""), action=f"{service}:{name}")
        if service == "s3" and "bucketName" in record["requestParameters"]:
            bucket = record["requestParameters"]["bucketName"]
            record["resources"] = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
        yield record


def _params(rng: random.Random, service: str, name: str, acct: str, region: str) -> dict[str, Any]:
    if service == "iam":
        return {"userName": f"user{rng.randint(0, 199):03d}"}
    if service == "sts":
        role = rng.choice(["Deploy", "Admin", "CI"])
        return {"roleArn": f"arn:aws:iam::{acct}:role/{role}-1", "roleSessionName": "s",
                "durationSeconds": 3600}  # fmt: skip
    if service == "s3":
        return {"bucketName": f"data-{rng.randint(1, 40)}", "key": f"obj/{rng.randint(1, 10**6)}"}
    if service == "ec2":
        return {"instancesSet": {"items": [{"instanceId": f"i-{rng.getrandbits(56):014x}"}]},
                "filterSet": {}}  # fmt: skip
    if service == "secretsmanager":
        return {"secretId": f"arn:aws:secretsmanager:{region}:{acct}:secret:app/{rng.randint(1, 30)}"}
    return {"name": f"{service}-{rng.randint(1, 100)}"}


def write(n: int, out: IO[bytes], *, seed: int = 7, records_per_file: int = 0) -> None:
    """Write ``n`` events as JSON lines, or as ``{"Records": [...]}`` lines of that size."""
    if records_per_file <= 0:
        for record in events(n, seed):
            out.write(orjson.dumps(record))
            out.write(b"\n")
        return
    batch: list[dict[str, Any]] = []
    for record in events(n, seed):
        batch.append(record)
        if len(batch) == records_per_file:
            out.write(orjson.dumps({"Records": batch}) + b"\n")
            batch = []
    if batch:
        out.write(orjson.dumps({"Records": batch}) + b"\n")


def write_file(path: str, n: int, *, seed: int = 7) -> None:
    """Generate ``n`` events as JSON lines into ``path``, printing the size and time."""
    start = time.perf_counter()
    with open(path, "wb") as out:
        write(n, out, seed=seed)
    size = os.path.getsize(path)
    print(f"generated {n:,} events ({size / 1e6:,.0f} MB) in {time.perf_counter() - start:.1f}s")


def orjson_floor(path: str) -> tuple[int, float]:
    """(lines, seconds) for a bare ``orjson.loads`` loop over ``path``: the floor no parser beats."""
    loads = orjson.loads
    start = time.perf_counter()
    count = 0
    with open(path, "rb") as handle:
        for line in handle:
            loads(line)
            count += 1
    return count, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out", help="output file, or - for stdout")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--records", type=int, default=0, help="events per Records object")
    args = parser.parse_args(argv)
    if args.out == "-":
        write(args.n, sys.stdout.buffer, seed=args.seed, records_per_file=args.records)
    else:
        with open(args.out, "wb") as out:
            write(args.n, out, seed=args.seed, records_per_file=args.records)


if __name__ == "__main__":
    main()
