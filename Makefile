# The two commands of README.md.
.PHONY: demo test lock

demo:  ## set up, load the fictional demo borough and serve it at http://127.0.0.1:5000
	scripts/setup.sh
	.venv/bin/mapper demo
	SECRET_KEY=$$(cat instance/secret_key) .venv/bin/mapper serve --bind 127.0.0.1:5000

test:  ## install what the tests need, then run the whole suite on SpatiaLite and PostGIS
	scripts/setup.sh --test
	.venv/bin/python -m pytest -n auto --dist loadfile  # one worker per core, a test file to a worker

# Not one of README's two: regenerate requirements.lock after changing setup.cfg's dependencies
# (add UPGRADE=--upgrade to take the newest releases allowed).
lock:  ## lock every Python dependency of setup.cfg (with the test extra) with hashes
	.venv/bin/pip install -q pip-tools
	.venv/bin/pip-compile --quiet --generate-hashes --extra test --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links $(UPGRADE) -o requirements.lock setup.cfg
