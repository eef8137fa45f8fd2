#!/usr/bin/env bash
# A real Spark standalone cluster on 127.0.0.1 for tests and benchmarks: one Master
# (spark://127.0.0.1:7077, web UI 8080) and one Worker (1 core, 1 GiB), both from the pip
# `pyspark` package (it ships Spark's jars and bin/spark-submit; Java 17 is on the machine).
# Idempotent: installs and starts only what is missing; safe while another run uses the cluster.
#
# Who runs what: the daemons run as root; the head node of the tests is this machine reached
# over SSH as `deckuser` (scripts/infra/sshd.sh), so deckuser must be able to run spark-submit.
# The pyspark package of the test venv lives under a folder every user can read (the venv at
# /work/venv or the repo's .venv); the interpreter that venv was made from may not be (pyenv
# under /root), so deckuser never runs the venv's Python: spark-submit is a shell script that
# needs only `java` and the jars, and PySpark drivers and executors run the system python3
# (Spark puts its own pyspark.zip and py4j zip on their PYTHONPATH). This script checks that
# deckuser can read SPARK_HOME and run spark-submit, and makes the tree world-readable if not.
#
# Output: KEY=VALUE lines on stdout (SPARK_HOME, master URL, web UI, spark-submit path), also
# written to $STATE/facts.env, which the pytest fixture reads.
set -euo pipefail

STATE=${DECK_SPARK_STATE:-/var/lib/launchdeck-test/spark}
PYTHON=${DECK_SPARK_PYTHON:-python3}  # the test venv's python is first on PATH under scripts/test
MASTER_PORT=7077
UI_PORT=8080
HEAD_USER=deckuser

log() { echo "spark.sh: $*" >&2; }
mkdir -p "$STATE"

if ! "$PYTHON" -c "import pyspark" 2>/dev/null; then
    log "installing pyspark into $("$PYTHON" -c 'import sys; print(sys.prefix)') (about 490 MB)"
    "$PYTHON" -m pip install -q pyspark >&2
fi
SPARK_HOME=$("$PYTHON" -c "import os, pyspark; print(os.path.dirname(pyspark.__file__))")
export SPARK_HOME
# Spark needs java; the tests build a tiny jar for a Maven repository on disk with javac.
if ! command -v java >/dev/null || ! command -v javac >/dev/null; then
    log "installing a Java 17 JDK"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless >&2
fi

# deckuser must reach the package: every folder above it searchable, the tree readable.
if id "$HEAD_USER" >/dev/null 2>&1 && \
        ! su -s /bin/sh "$HEAD_USER" -c "test -x '$SPARK_HOME/bin/spark-submit' && test -r '$SPARK_HOME/jars'"; then
    log "making $SPARK_HOME readable by $HEAD_USER"
    d=$SPARK_HOME
    while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
    chmod -R o+rX "$SPARK_HOME"
fi

ui_json() { python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$UI_PORT/json/', timeout=2).read().decode())" 2>/dev/null; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alive_workers() { ui_json | python3 -c "import json,sys; d=json.load(sys.stdin); print(sum(w.get('state')=='ALIVE' for w in d.get('workers', [])))" 2>/dev/null || echo 0; }

# Logs and work folders of the daemons live in the state folder, not in site-packages.
export SPARK_LOG_DIR=$STATE/logs SPARK_WORKER_DIR=$STATE/work SPARK_LOCAL_DIRS=$STATE/tmp
mkdir -p "$SPARK_LOG_DIR" "$SPARK_WORKER_DIR" "$SPARK_LOCAL_DIRS"
chmod 1777 "$SPARK_WORKER_DIR" "$SPARK_LOCAL_DIRS"

if ! listening $MASTER_PORT; then
    log "starting the Spark master on 127.0.0.1:$MASTER_PORT"
    setsid nohup "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
        --host 127.0.0.1 --port $MASTER_PORT --webui-port $UI_PORT \
        >"$STATE/master.log" 2>&1 < /dev/null &
    echo $! > "$STATE/master.pid"
    for _ in $(seq 300); do listening $MASTER_PORT && listening $UI_PORT && break; sleep 0.1; done
    listening $MASTER_PORT || { log "the master did not start; see $STATE/master.log"; exit 1; }
fi

if [ "$(alive_workers)" -lt 1 ]; then
    if ! { [ -f "$STATE/worker.pid" ] && kill -0 "$(cat "$STATE/worker.pid")" 2>/dev/null; }; then
        log "starting one Spark worker (1 core, 1 GiB)"
        setsid nohup "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
            --host 127.0.0.1 --cores 1 --memory 1g --work-dir "$SPARK_WORKER_DIR" \
            "spark://127.0.0.1:$MASTER_PORT" >"$STATE/worker.log" 2>&1 < /dev/null &
        echo $! > "$STATE/worker.pid"
    fi
    for _ in $(seq 600); do [ "$(alive_workers)" -ge 1 ] && break; sleep 0.2; done
    [ "$(alive_workers)" -ge 1 ] || { log "no ALIVE worker after 120 s; see $STATE/worker.log"; exit 1; }
fi

{
    echo "DECK_SPARK_HOME=$SPARK_HOME"
    echo "DECK_SPARK_SUBMIT=$SPARK_HOME/bin/spark-submit"
    echo "DECK_SPARK_MASTER=spark://127.0.0.1:$MASTER_PORT"
    echo "DECK_SPARK_UI=http://127.0.0.1:$UI_PORT"
    echo "DECK_SPARK_STATE=$STATE"
} | tee "$STATE/facts.env"
