# limen.monitoring: the two commands are `make demo` and `make test` (as root, Debian 12).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(abspath $(VENV)/bin)
TOOLS := $(abspath .cache/tools)
export PATH := $(BIN):$(TOOLS)/usr/bin:$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)
APT_PACKAGES := debootstrap systemd-container nftables iproute2 openssh-client curl python3-venv
SCENARIOS ?= default install_methods secure
TOOL_DEBS := prometheus prometheus-alertmanager prometheus-node-exporter
# community.crypto (keys, CSRs, certificates of the internal CA) is not reachable on Galaxy
# here; it ships inside PyPI's `ansible` package. The wheel is kept in .cache/wheels, so a
# second setup works offline.
ANSIBLE_BUNDLE := 12.3.0
COLLECTIONS := $(abspath .cache/collections)

.PHONY: demo demo-down test lint unit molecule setup venv apt tools collections clean

demo: setup                       ## lab up, site.yml, print UIs and targets
	python3 lab/lab.py up
	ansible-playbook site.yml
	$(PY) lab/show.py

demo-down:                        ## remove everything the lab made
	python3 lab/lab.py down

test: setup lint unit molecule    ## the whole suite (what CI runs)

lint:
	yamllint -s .
	ruff check .
	ansible-lint --profile production

unit:
	pytest -q tests/unit

molecule:
	set -e; for s in $(SCENARIOS); do molecule test -s $$s; done

setup: apt venv tools collections

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
tools: $(TOOLS)/.installed
$(TOOLS)/.installed:
	rm -rf $(TOOLS) && mkdir -p $(TOOLS)/debs
	cd $(TOOLS)/debs && { apt-get download -qq $(TOOL_DEBS) || { apt-get update -qq && apt-get download -qq $(TOOL_DEBS); }; }
	for d in $(TOOLS)/debs/*.deb; do dpkg-deb -x $$d $(TOOLS); done
	touch $@

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
	rm -rf $(VENV) .cache
