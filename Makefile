# nncc — build, demo, test and benchmark.
#
#   make demo   build nncc; compile, quantize, prune and split a bundled
#               trained model, checking each result against the original
#               (needs only Go)
#   make test   vet, format check and every test (tests that need the ONNX
#               checker, conformance data or onnxruntime skip without them,
#               unless NNCC_REQUIRE_REFS=1, as in CI)
#   make deps   install the reference tools the tests use (Debian + npm)
#   make bench  latency of nncc vs onnxruntime, written to docs/performance.md,
#               and of generated Go vs nncc's runtime, in docs/gosrc.md

GO      ?= go
BIN     := bin/nncc
OUT     := out
MODEL   := testmodels/digits_cnn.onnx
DATA    := testmodels/data

.PHONY: all build demo test vet fmt-check deps bench fuzz generate clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/nncc

demo: build
	@mkdir -p $(OUT)
	@echo "== the bundled model"
	$(BIN) inspect $(MODEL)
	@echo "== compile with the default inference clean-up pipeline"
	$(BIN) compile $(MODEL) -o $(OUT)/digits_cnn.opt.onnx --verify-each --report $(OUT)/digits_cnn.report.json
	$(BIN) inspect $(OUT)/digits_cnn.opt.onnx
	@echo "== check the result against the original"
	$(BIN) verify $(MODEL) $(OUT)/digits_cnn.opt.onnx --shape batch=16 --samples 4
	@echo "== accuracy on the held-out digits, before and after"
	$(BIN) eval $(MODEL) --data $(DATA)/digits_test_x.npy --labels $(DATA)/digits_test_y.npy
	$(BIN) eval $(OUT)/digits_cnn.opt.onnx --data $(DATA)/digits_test_x.npy --labels $(DATA)/digits_test_y.npy
	@echo "== compress: int8 (static, per channel, QDQ) within a 0.5-point budget, calibrated on 64 training images"
	$(BIN) compile $(MODEL) -o $(OUT)/digits_cnn.int8.onnx --passes default,quantize --calib $(DATA)/digits_calib_x.npy \
		--eval $(DATA)/digits_test_x.npy --labels $(DATA)/digits_test_y.npy --max-drop 0.5 --report $(OUT)/digits_cnn.int8.json --quiet
	@echo "== compress: 80% of the weights pruned, the rest re-fitted to the original's activations"
	$(BIN) compile $(MODEL) -o $(OUT)/digits_cnn.pruned.onnx --passes 'prune-magnitude{sparsity=0.8,reconstruct=true},default' \
		--calib $(DATA)/digits_calib_x.npy --eval $(DATA)/digits_test_x.npy --labels $(DATA)/digits_test_y.npy --max-drop 3 --sparse-weights --quiet
	$(BIN) inspect $(OUT)/digits_cnn.pruned.onnx --shape batch=1
	@echo "== split into 2 pipeline stages with a Triton ensemble repository, and check the chain"
	$(BIN) split $(OUT)/digits_cnn.opt.onnx -o $(OUT)/digits_cnn.split --stages 2 --shape batch=1 --force
	$(BIN) verify $(MODEL) $(OUT)/digits_cnn.split --shape batch=1

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: vet fmt-check
	$(GO) test ./...

deps:
	./tools/install-deps.sh

bench: build
	./bench/run.sh
	$(GO) run ./bench/gosrc

# Short fuzzing of every fuzz target (CI); FUZZTIME=10m for a long run.
FUZZTIME ?= 15s
fuzz:
	./tools/fuzz.sh $(FUZZTIME)

generate:
	$(GO) generate ./...

clean:
	rm -rf bin $(OUT)
