//! Fixtures shared by the unit tests of several modules.

/// A two-slice toy GPU without datasheet figures, for errors about GPUs the analytic model
/// has no figures for (the same toy GPU as core's unit tests use).
pub(crate) const TOY_GPU_TOML: &str = r#"
[[gpu]]
id = "toy"
name = "Toy GPU"
compute_slices = 2
memory_slices = 2
sm_count = 20
memory_gib = 8.0
[[gpu.profile]]
name = "1g.4gb"
nvml_id = 1
compute_slices = 1
memory_slices = 1
sm_count = 10
memory_gib = 4.0
max_count = 2
starts = [0, 1]
"#;
