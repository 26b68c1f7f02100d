package runtime

// QDQFusion lets external tests switch the QDQ fusion off.
var QDQFusion = &qdqFusion
