//! A small deterministic Nelder–Mead minimizer over a box, for calibration: fixed start,
//! fixed initial simplex, evaluation cap, restarts from the best point. No randomness, so the
//! same objective gives the same minimum bit for bit.

/// Settings of [`minimize`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Settings {
    /// Most objective evaluations in all.
    pub max_evaluations: u32,
    /// Edge of the initial simplex along each axis (and of each restart's).
    pub initial_step: f64,
    /// Converged when the simplex's values differ by at most this (absolute)…
    pub f_tolerance: f64,
    /// …and its vertices lie within this distance of the best one (max norm).
    pub x_tolerance: f64,
    /// Restarts from the best point after convergence, while they improve it.
    pub restarts: u32,
}

/// The best point found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub evaluations: u32,
}

/// Minimizes `f` over the box `[lower, upper]` from `start`. Points outside the box are
/// projected onto it (clamped) before evaluation, so every vertex stays inside. A NaN value
/// counts as +∞.
pub(crate) fn minimize(
    mut f: impl FnMut(&[f64]) -> f64,
    start: &[f64],
    lower: &[f64],
    upper: &[f64],
    settings: &Settings,
) -> Minimum {
    let n = start.len();
    assert!(
        n > 0 && lower.len() == n && upper.len() == n,
        "dimensions: start {n}, lower {}, upper {}",
        lower.len(),
        upper.len()
    );
    let clamp = |x: &mut [f64]| {
        for i in 0..x.len() {
            x[i] = x[i].clamp(lower[i], upper[i]);
        }
    };
    let mut evaluations = 0u32;
    let mut eval = |x: &[f64], evaluations: &mut u32| {
        *evaluations += 1;
        let v = f(x);
        if v.is_nan() { f64::INFINITY } else { v }
    };

    let mut best_x = start.to_vec();
    clamp(&mut best_x);
    let mut best_f = eval(&best_x, &mut evaluations);

    for _round in 0..=settings.restarts {
        // Initial simplex: the best point and one step along each axis (backwards where the
        // forward step would leave the box).
        let mut simplex: Vec<(Vec<f64>, f64)> = vec![(best_x.clone(), best_f)];
        for i in 0..n {
            let mut x = best_x.clone();
            x[i] = if x[i] + settings.initial_step <= upper[i] {
                x[i] + settings.initial_step
            } else {
                x[i] - settings.initial_step
            };
            clamp(&mut x);
            let v = eval(&x, &mut evaluations);
            simplex.push((x, v));
        }
        loop {
            // Stable sort: ties keep their order, so the run is reproducible.
            simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
            let spread = simplex[n].1 - simplex[0].1;
            let size = simplex[1..]
                .iter()
                .flat_map(|(x, _)| x.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
                .fold(0.0, f64::max);
            if evaluations >= settings.max_evaluations
                || (spread <= settings.f_tolerance && size <= settings.x_tolerance)
            {
                break;
            }
            let mut centroid = vec![0.0; n];
            for (x, _) in &simplex[..n] {
                for (c, xi) in centroid.iter_mut().zip(x) {
                    *c += xi / n as f64;
                }
            }
            let along = |t: f64, from: &[f64]| -> Vec<f64> {
                let mut x: Vec<f64> = centroid
                    .iter()
                    .zip(from)
                    .map(|(c, w)| c + t * (c - w))
                    .collect();
                clamp(&mut x);
                x
            };
            let worst = simplex[n].0.clone();
            let reflected = along(1.0, &worst);
            let fr = eval(&reflected, &mut evaluations);
            if fr < simplex[0].1 {
                let expanded = along(2.0, &worst);
                let fe = eval(&expanded, &mut evaluations);
                simplex[n] = if fe < fr {
                    (expanded, fe)
                } else {
                    (reflected, fr)
                };
                continue;
            }
            if fr < simplex[n - 1].1 {
                simplex[n] = (reflected, fr);
                continue;
            }
            let (contracted, fc, accept) = if fr < simplex[n].1 {
                let x = along(0.5, &worst);
                let v = eval(&x, &mut evaluations);
                (x, v, v <= fr)
            } else {
                let x = along(-0.5, &worst);
                let v = eval(&x, &mut evaluations);
                (x, v, v < simplex[n].1)
            };
            if accept {
                simplex[n] = (contracted, fc);
                continue;
            }
            // Shrink towards the best vertex.
            let best = simplex[0].0.clone();
            for (x, v) in simplex.iter_mut().skip(1) {
                for (xi, bi) in x.iter_mut().zip(&best) {
                    *xi = bi + 0.5 * (*xi - bi);
                }
                clamp(x);
                *v = eval(x, &mut evaluations);
            }
        }
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let improved = simplex[0].1 < best_f - settings.f_tolerance;
        if simplex[0].1 < best_f {
            best_x = simplex[0].0.clone();
            best_f = simplex[0].1;
        }
        if !improved || evaluations >= settings.max_evaluations {
            break;
        }
    }
    Minimum {
        x: best_x,
        value: best_f,
        evaluations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            max_evaluations: 5000,
            initial_step: 0.5,
            f_tolerance: 1e-14,
            x_tolerance: 1e-9,
            restarts: 3,
        }
    }

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let rosenbrock = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = minimize(
            rosenbrock,
            &[-1.2, 1.0],
            &[-5.0, -5.0],
            &[5.0, 5.0],
            &settings(),
        );
        assert!(
            (m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5,
            "{m:?}"
        );
        assert!(m.evaluations <= 5000);
    }

    #[test]
    fn stays_in_the_box_and_finds_a_minimum_on_its_edge() {
        let f = |x: &[f64]| (x[0] - 3.0).powi(2) + (x[1] + 1.0).powi(2);
        let m = minimize(f, &[0.0, 0.0], &[-1.0, -1.0], &[1.0, 1.0], &settings());
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] + 1.0).abs() < 1e-6,
            "{m:?}"
        );
    }

    #[test]
    fn is_deterministic_and_respects_the_cap() {
        let f = |x: &[f64]| x.iter().map(|v| (v - 0.3).abs()).sum::<f64>();
        let capped = Settings {
            max_evaluations: 40,
            ..settings()
        };
        let a = minimize(f, &[2.0, -2.0, 1.0], &[-9.0; 3], &[9.0; 3], &capped);
        let b = minimize(f, &[2.0, -2.0, 1.0], &[-9.0; 3], &[9.0; 3], &capped);
        assert_eq!(a, b);
        // The cap is checked once per step; one step costs at most n + 2 evaluations.
        assert!(a.evaluations <= 40 + 5, "{}", a.evaluations);
    }
}
