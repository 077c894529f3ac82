# The project's commands. `make test` and `make run` work on a fresh machine: each installs
# what it needs first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint proto proto-check generate run bench soak clean

install: $(STAMP)

# compat editable mode puts client/ on the path; the extra .pth adds server/, so the
# `logicblocks.event` namespace spans both folders in the editable install as in the wheel.
$(STAMP): pyproject.toml
	sh scripts/ensure-packages.sh python-venv=python3-venv
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,postgres]' --config-settings editable_mode=compat
	echo "$(CURDIR)/server" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/logicblocks_event_store_server_src.pth"
	touch $(STAMP)

# PostgreSQL for the throwaway clusters, openssl for the TLS tests' certificates, Node.js
# for the client built from proto/ alone, Chromium for the console's browser tests (driven
# by Playwright at /usr/bin/chromium: no browser is downloaded from anywhere else), curl
# for the README's HTTP examples, which a test runs as written.
test: install
	sh scripts/ensure-postgresql.sh
	sh scripts/ensure-packages.sh openssl=openssl node=nodejs npm=npm chromium=chromium curl=curl
	$(PY) -m pytest -n 2 --dist loadfile

# The contract may only grow: `buf breaking` compares proto/ with PROTO_BASE (by default the
# commit before HEAD, so each landing is checked against what main held before it).
PROTO_BASE ?= HEAD~1

lint: install
	$(PY) scripts/async_to_sync.py --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/buf lint
	if git rev-parse -q --verify "$(PROTO_BASE)^{commit}" >/dev/null; then \
		$(VENV)/bin/buf breaking --against '.git#ref=$(PROTO_BASE)'; \
	else echo "buf breaking: no $(PROTO_BASE) to compare with (shallow clone?); skipped"; fi

# The blocking modules of the PostgreSQL engine are generated from its asynchronous sources
# (`make lint` fails when they are stale).
generate: install
	$(PY) scripts/async_to_sync.py

# Generated files are removed first, so a deleted .proto leaves none behind.
proto: install
	rm -f client/logicblocks/event/v1/*_pb2*.py client/logicblocks/event/v1/*_pb2*.pyi
	$(PY) -m grpc_tools.protoc -I proto \
		--python_out=client --pyi_out=client --grpc_python_out=client \
		--plugin=protoc-gen-mypy_grpc=$(VENV)/bin/protoc-gen-mypy_grpc --mypy_grpc_out=quiet:client \
		$$(find proto -name '*.proto' | sort)

# Fails when the generated code in client/ differs from what `make proto` makes now.
proto-check: proto
	git diff --exit-code -- client/logicblocks/event/v1 \
		|| (echo "generated code is stale: run 'make proto' and commit" >&2; exit 1)
	test -z "$$(git ls-files --others --exclude-standard client/logicblocks/event/v1)" \
		|| (echo "generated code is not committed: run 'make proto' and commit" >&2; exit 1)

# gRPC on 127.0.0.1:50051; the HTTP/JSON API and the web console on http://127.0.0.1:8080/.
run: install
	$(VENV)/bin/logicblocks-event-store serve --http-listen 127.0.0.1:8080

# The benchmark's peer library (pyproject's `bench` group) is installed here, never by `make test`.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install -q -e '.[bench]' --config-settings editable_mode=compat
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	sh scripts/ensure-postgresql.sh
	$(PY) -m bench $(BENCH_ARGS)

# Minutes of steady load on a server over PostgreSQL (SOAK_SECONDS, default 120); not in `make test`.
soak: install
	sh scripts/ensure-postgresql.sh
	$(PY) -m pytest -m soak -s tests/soak

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
