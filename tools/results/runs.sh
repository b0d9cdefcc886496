# Sourced by the results scripts after clipkit-bin.sh: resumable trainings and tests.
#   train_once OUT NAME           trains OUT/NAME.json into OUT/NAME unless OUT/NAME/done exists
#                                 (a run interrupted half-way starts again from nothing: it has no "done")
#   test_once OUT NAME MANIFEST   10 clips × 3 crops of OUT/NAME's checkpoint on MANIFEST, once,
#                                 saved as OUT/NAME/eval.json; prints "NAME: top-1"
train_once() {
    local out=$1 name=$2
    [ -f "$out/$name/done" ] && return
    rm -rf "${out:?}/$name"
    "$bin" train "$out/$name.json" >"$out/$name.log" 2>&1
    touch "$out/$name/done"
}

test_once() {
    local out=$1 name=$2 manifest=$3 f="$1/$2/eval.json"
    [ -f "$f" ] || "$bin" eval "$out/$name/checkpoint.safetensors" "$manifest" --views 10x3 --save "$f" >>"$out/$name.log" 2>&1
    echo "$name: $(python3 -c "import json,sys; print('%.1f%%' % json.load(open(sys.argv[1]))['top1'])" "$f")"
}
