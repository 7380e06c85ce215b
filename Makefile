# The two commands of README.md.
.PHONY: demo test

demo:  ## set up, load the fictional demo borough and serve it at http://127.0.0.1:5000
	scripts/setup.sh
	.venv/bin/mapper demo
	SECRET_KEY=$$(cat instance/secret_key) .venv/bin/mapper run --host 127.0.0.1 --port 5000

test:  ## install what the tests need, then run the whole suite on SpatiaLite and PostGIS
	scripts/setup.sh --test
	.venv/bin/python -m pytest
