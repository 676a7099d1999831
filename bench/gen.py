#!/usr/bin/env python3
"""Payload generator for bench/run. Deterministic; every alert has its own label set.

  gen.py webhook N TAG            Alertmanager v4 webhook with N alerts, to stdout
  gen.py am-array N TAG           Alertmanager API v2 body (JSON array of N alerts), to stdout
  gen.py webhook-files K N TAG DIR  K webhook files of N alerts each: DIR/TAG-0000.json ...
  gen.py webhook-max N BYTES TAG  N alerts whose descriptions are padded so the body is just
                                  under BYTES: the largest delivery the limits accept
"""
import json
import os
import sys
import zlib
from datetime import datetime, timezone

ALERTNAMES = [
    "KubePodCrashLooping", "KubePodNotReady", "CPUThrottlingHigh", "KubeContainerWaiting",
    "KubeDeploymentReplicasMismatch", "KubeMemoryOvercommit", "NodeFilesystemSpaceFillingUp",
    "KubeJobFailed", "TargetDown", "KubeHpaMaxedOut",
]
NOW = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def labels(tag, i):
    name = ALERTNAMES[i % len(ALERTNAMES)]
    ns = f"team-{i % 37}"
    return {
        "alertname": name,
        "namespace": ns,
        "pod": f"svc-{tag}-{i}-7d9f8c6b5-x{i % 97:02d}q",
        "container": f"app-{i % 5}",
        "node": f"node-{i % 64}.bench.internal",
        "severity": "critical" if i % 7 == 0 else "warning",
        "prometheus": "monitoring/k8s",
    }


def annotations(lab):
    return {
        "summary": f"{lab['alertname']} on {lab['namespace']}/{lab['pod']}",
        "description": (
            f"Pod {lab['namespace']}/{lab['pod']} container {lab['container']} "
            f"on {lab['node']} has been failing for more than 15 minutes."
        ),
        "runbook_url": "https://runbooks.example.com/" + lab["alertname"].lower(),
    }


def webhook_alert(tag, i):
    lab = labels(tag, i)
    return {
        "status": "firing",
        "labels": lab,
        "annotations": annotations(lab),
        "startsAt": NOW,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.bench:9090/graph?g0.expr=up%3D%3D0&g0.tab=1",
        "fingerprint": f"{zlib.crc32(tag.encode()):08x}{i:08x}",
    }


def webhook(n, tag):
    return {
        "version": "4",
        "groupKey": '{}:{prometheus="monitoring/k8s"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "nightwatch",
        "groupLabels": {"prometheus": "monitoring/k8s"},
        "commonLabels": {"prometheus": "monitoring/k8s"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.bench:9093",
        "alerts": [webhook_alert(tag, i) for i in range(n)],
    }


def am_array(n, tag):
    out = []
    for i in range(n):
        lab = labels(tag, i)
        out.append({
            "labels": lab,
            "annotations": annotations(lab),
            "startsAt": NOW,
            "generatorURL": "http://prometheus.bench:9090/graph?g0.expr=up%3D%3D0&g0.tab=1",
        })
    return out


def main(argv):
    mode = argv[1]
    if mode == "webhook":
        json.dump(webhook(int(argv[2]), argv[3]), sys.stdout, separators=(",", ":"))
    elif mode == "am-array":
        json.dump(am_array(int(argv[2]), argv[3]), sys.stdout, separators=(",", ":"))
    elif mode == "webhook-files":
        k, n, tag, out = int(argv[2]), int(argv[3]), argv[4], argv[5]
        os.makedirs(out, exist_ok=True)
        for f in range(k):
            path = os.path.join(out, f"{tag}-{f:04d}.json")
            with open(path, "w") as fh:
                json.dump(webhook(n, f"{tag}{f}"), fh, separators=(",", ":"))
    elif mode == "webhook-max":
        n, limit, tag = int(argv[2]), int(argv[3]), argv[4]
        body = webhook(n, tag)
        size = len(json.dumps(body, separators=(",", ":")))
        # Each alert gains the padding plus one space.
        pad = max(0, (limit - size - 65536) // n - 1)
        for alert in body["alerts"]:
            alert["annotations"]["description"] += " " + "x" * pad
        json.dump(body, sys.stdout, separators=(",", ":"))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
