package runtime

// QDQFusion lets external tests switch the QDQ fusion off.
var QDQFusion = &qdqFusion

// NoChains lets external tests switch the element-wise chain fusion off.
var NoChains = &noChains
