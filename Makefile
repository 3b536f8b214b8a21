# limen.monitoring: the two commands are `make demo` and `make test` (as root, Debian 12).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(abspath $(VENV)/bin)
TOOLS := $(abspath .cache/tools)
# Debian 13's binaries for the upgrade test, fetched with a private apt configuration
# (own sources list, lists and cache under .cache): this machine's apt sources are not touched.
# Debian 13 ships promtool in a package of its own.
TRIXIE := $(abspath .cache/tools-trixie)
TRIXIE_APT := -o Dir::Etc::sourcelist=$(TRIXIE)/apt/sources.list -o Dir::Etc::sourceparts=/nonexistent \
  -o Dir::State::Lists=$(TRIXIE)/apt/lists -o Dir::Cache=$(TRIXIE)/apt/cache -o APT::Sandbox::User=root
export PATH := $(BIN):$(TOOLS)/usr/bin:$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)
APT_PACKAGES := debootstrap systemd-container nftables iproute2 openssh-client curl python3-venv
SCENARIOS ?= default default_bookworm default_mitogen install_methods grafana_install secure ha
TOOL_DEBS := prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics
# The ansible-core range meta/runtime.yml claims: unit tests and ansible-test sanity run
# under both ends, each in its own venv (.cache/core-VERSION). ansible-core 2.20 and later
# need Python >= 3.12 on the controller (Debian 12 has 3.11): the first one found is used.
CORE_OLDEST := 2.19.0
CORE_NEWEST := 2.21.5
PYTHON_NEWEST ?= $(firstword $(wildcard /usr/bin/python3.1[2-9] /usr/local/bin/python3.1[2-9] $(HOME)/.pyenv/versions/3.1[2-9].*/bin/python3))
CORE_VENVS := $(foreach v,$(CORE_OLDEST) $(CORE_NEWEST),.cache/core-$(v))
# community.crypto (keys, CSRs, certificates of the internal CA) is not reachable on Galaxy
# here; it ships inside PyPI's `ansible` package. The wheel is kept in .cache/wheels, so a
# second setup works offline.
ANSIBLE_BUNDLE := 12.3.0
COLLECTIONS := $(abspath .cache/collections)
# ansible.cfg finds the collection here; the link is made by `make setup`, never committed.
COLLECTION_LINK := .cache/collections/ansible_collections/limen/monitoring

.PHONY: demo demo-down test check lint unit grafana-schema sanity build artifacts molecule setup venv apt tools tools-trixie npm link cores collections mitogen clean

demo: setup                       ## lab up, site.yml, print UIs and targets
	python3 lab/lab.py up
	ansible-playbook site.yml
	$(PY) lab/show.py

demo-down:                        ## remove everything the lab made
	python3 lab/lab.py down

test: setup lint unit grafana-schema sanity molecule    ## the whole suite (what CI runs)

# The everyday fast path: lint, the unit tests under the venv's ansible-core only, the
# dashboard schema check; no lab, no sanity, no second ansible-core.
check: setup lint grafana-schema
	pytest -q -p no:cacheprovider tests/unit

lint:
	yamllint -s .
	ruff check .
	ansible-lint --profile production
	antsibull-changelog lint

# Unit tests (including the built-artifact test) under the oldest and the newest ansible-core.
unit: link cores
	rc=0; for v in $(CORE_VENVS); do echo "== unit tests, $$v"; \
	  PATH=$(abspath .)/$$v/bin:$$PATH $$v/bin/python -m pytest -q -p no:cacheprovider tests/unit || rc=1; done; exit $$rc

# ansible-test sanity on the built collection, under the same two ansible-core releases.
sanity: build cores
	rc=0; for v in $(CORE_VENVS); do echo "== ansible-test sanity, $$v"; \
	  tests/collection/sanity.sh $$v .cache/build/limen-monitoring-*.tar.gz || rc=1; done; exit $$rc

build: venv
	rm -rf .cache/build && ansible-galaxy collection build --output-path .cache/build

# The collection and its dependency as artifacts, for a controller without Galaxy (docs/install.md: "From
# a built collection"); community.crypto is built from the copy `make collections` unpacked.
ARTIFACTS := .cache/artifacts
artifacts: collections
	rm -rf $(ARTIFACTS) && ansible-galaxy collection build --output-path $(ARTIFACTS)
	$(PY) tests/collection/dependency_artifact.py $(COLLECTIONS)/ansible_collections/community/crypto $(ARTIFACTS)

# Every dashboard the grafana role writes, type-checked against Grafana's published schema
# (pinned npm packages in tests/grafana_schema/package-lock.json), and the broken fixtures.
grafana-schema: npm link
	pytest -q -p no:cacheprovider -o pythonpath=".cache/collections tests/grafana_schema" tests/grafana_schema

# Two lanes by default (LIMEN_LANES): each its own lab and checkout copy (lab/lanes.py); a
# single scenario runs in place, in the lab LIMEN_LAB_NAME names.
molecule:
	python3 lab/lanes.py $(SCENARIOS)

setup: apt venv tools tools-trixie npm link collections mitogen

link: $(COLLECTION_LINK)
$(COLLECTION_LINK):
	mkdir -p $(dir $@) && ln -sfn ../../../.. $@

# Mitogen's strategy plugins, at a path that does not depend on the venv's Python version
# (molecule/default_mitogen and docs/speed.md point ANSIBLE_STRATEGY_PLUGINS here).
mitogen: $(VENV)/.installed
	mkdir -p .cache && ln -sfn "$$($(PY) -c 'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))')/plugins/strategy" .cache/mitogen-strategy

cores: $(foreach v,$(CORE_VENVS),$(v)/.installed)
.cache/core-%/.installed: requirements.txt
	@py=python3; if [ "$*" = "$(CORE_NEWEST)" ]; then py="$(PYTHON_NEWEST)"; \
	  [ -n "$$py" ] || { echo "ansible-core $* needs Python >= 3.12 and none was found: set PYTHON_NEWEST=/path/to/python3.12" >&2; exit 1; }; fi; \
	rm -rf .cache/core-$* && $$py -m venv .cache/core-$*
	.cache/core-$*/bin/pip install -q ansible-core==$* \
	  $$(grep -E '^[A-Za-z]' requirements.txt | grep -vE '^(ansible-core|ansible-lint|antsibull-changelog|molecule|pytest-testinfra|ruff|yamllint)==')
	touch $@

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

# promtool and amtool for rule tests, taken from Debian's packages without installing
# them on this machine (no service, nothing in /usr); also the binaries the tarball
# install tests repackage.
# The stamp holds the list, so a package added to it is fetched on the next run.
tools:
	@if [ "$$(cat $(TOOLS)/.installed 2>/dev/null)" != "$(TOOL_DEBS)" ]; then \
	  rm -rf $(TOOLS) && mkdir -p $(TOOLS)/debs && cd $(TOOLS)/debs && \
	  { apt-get download -qq $(TOOL_DEBS) || { apt-get update -qq && apt-get download -qq $(TOOL_DEBS); }; } && \
	  for d in $(TOOLS)/debs/*.deb; do dpkg-deb -x $$d $(TOOLS); done && \
	  echo "$(TOOL_DEBS)" > $(TOOLS)/.installed; \
	fi

npm: tests/grafana_schema/node_modules/.installed
tests/grafana_schema/node_modules/.installed: tests/grafana_schema/package-lock.json
	cd tests/grafana_schema && npm ci --no-audit --no-fund --loglevel=error
	touch $@

tools-trixie:
	@if [ "$$(cat $(TRIXIE)/.installed 2>/dev/null)" != "$(TOOL_DEBS) promtool" ]; then \
	  rm -rf $(TRIXIE) && mkdir -p $(TRIXIE)/debs $(TRIXIE)/apt/lists/partial $(TRIXIE)/apt/cache/archives/partial && \
	  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
	    > $(TRIXIE)/apt/sources.list && \
	  apt-get $(TRIXIE_APT) update -qq && \
	  cd $(TRIXIE)/debs && apt-get $(TRIXIE_APT) download -qq $(TOOL_DEBS) promtool && \
	  for d in $(TRIXIE)/debs/*.deb; do dpkg-deb -x $$d $(TRIXIE); done && \
	  echo "$(TOOL_DEBS) promtool" > $(TRIXIE)/.installed; \
	fi

collections: $(COLLECTIONS)/ansible_collections/community/crypto/MANIFEST.json
$(COLLECTIONS)/ansible_collections/community/crypto/MANIFEST.json: $(VENV)/.installed
	mkdir -p .cache/wheels
	test -f .cache/wheels/ansible-$(ANSIBLE_BUNDLE)-py3-none-any.whl || \
	  $(VENV)/bin/pip download -q --no-deps -d .cache/wheels ansible==$(ANSIBLE_BUNDLE)
	rm -rf $(COLLECTIONS)/ansible_collections/community/crypto
	$(PY) -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	  z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("ansible_collections/community/crypto/")])' \
	  .cache/wheels/ansible-$(ANSIBLE_BUNDLE)-py3-none-any.whl $(COLLECTIONS)
	test -f $@

clean: demo-down
	rm -rf $(VENV) .cache tests/grafana_schema/node_modules
