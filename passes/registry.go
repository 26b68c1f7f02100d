package passes

func init() {
	for _, p := range []*Pass{
		RemoveDropout,
		EliminateIdentity,
		EliminateDead,
		FoldConstants,
		FoldBN,
		FuseMatMulAdd,
		FusePad,
		FuseLayerNorm,
		FuseGelu,
		UpgradeOpset,
		Quantize,
		PruneMagnitude,
		PruneChannels,
		ConvertFloat16,
		LowerFloat64,
	} {
		builtin[p] = true
		mustRegister(p)
	}
}

// Builtin returns the passes this package defines, sorted by name
// (All also lists passes a program registered).
func Builtin() []*Pass {
	var ps []*Pass
	for _, p := range All() {
		if builtin[p] {
			ps = append(ps, p)
		}
	}
	return ps
}

var builtin = map[*Pass]bool{}
