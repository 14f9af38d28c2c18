//! Queueing theory as the oracle: a single instance with Poisson arrivals must match the
//! mean waiting time of M/D/1 (Pollaczek-Khinchine), M/M/1 and M/M/c (Erlang C).

use migsched_sim::schedulers::Fifs;
use migsched_sim::{NoObserver, Noise, ServingMode, SimConfig, Stop, simulate};

use super::setup;

fn mean_wait_ms(slots: u32, rate: f64, service_ms: f64, noise: Noise, seed: u64) -> f64 {
    let s = setup(rate, service_ms, &[(7, slots)], 1e9);
    let config = SimConfig {
        stop: Stop::Requests { n: 2_000_000 },
        seed,
        mode: ServingMode::Prebatched,
        noise,
        warmup_ns: 20_000_000_000,
        ..SimConfig::default()
    };
    let r = simulate(&s, &config, &mut Fifs, &mut NoObserver).unwrap();
    assert_eq!(r.dropped, 0);
    r.queue_ms.mean
}

/// Erlang C: probability that an arrival waits in M/M/c with offered load a = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / f64::from(k);
        sum += term;
    }
    let last = term * a / f64::from(c) * f64::from(c) / (f64::from(c) - a);
    last / (sum + last)
}

fn close(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance * want
}

#[test]
fn m_d_1_matches_pollaczek_khinchine() {
    // S = 2 ms; ρ = 0.8: Wq = ρS / (2(1−ρ)) = 4 ms.
    let (s, rho) = (2.0, 0.8);
    let want = rho * s / (2.0 * (1.0 - rho));
    let got = mean_wait_ms(1, rho / (s / 1000.0), s, Noise::None, 1);
    assert!(close(got, want, 0.02), "M/D/1: {got} ms, theory {want} ms");
}

#[test]
fn m_m_1_matches_theory() {
    // S = 2 ms exponential; ρ = 0.7: Wq = ρS / (1−ρ) = 4.667 ms.
    let (s, rho) = (2.0, 0.7);
    let want = rho * s / (1.0 - rho);
    let got = mean_wait_ms(1, rho / (s / 1000.0), s, Noise::Exponential, 2);
    assert!(close(got, want, 0.02), "M/M/1: {got} ms, theory {want} ms");
}

#[test]
fn m_m_c_matches_erlang_c() {
    // c = 4 slots (MPS processes), S = 10 ms exponential, a = 3.2 (ρ = 0.8).
    let (c, s, a) = (4u32, 10.0, 3.2);
    let lambda = a / (s / 1000.0);
    let want = erlang_c(c, a) / (f64::from(c) / (s / 1000.0) - lambda) * 1000.0;
    let got = mean_wait_ms(c, lambda, s, Noise::Exponential, 3);
    assert!(
        close(got, want, 0.02),
        "M/M/4: {got} ms, Erlang C {want} ms"
    );
}

#[test]
fn erlang_c_reduces_to_m_m_1() {
    assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
}

#[test]
fn a_load_the_servers_cannot_follow_stops_at_the_backlog_budget() {
    // `simulate --load 1e9`: the clock stays near 0 while requests pile up without end.
    let s = setup(100.0, 10.0, &[(7, 1)], 1e9);
    let config = SimConfig {
        load: 1e9,
        ..SimConfig::default()
    };
    let e = simulate(&s, &config, &mut Fifs, &mut NoObserver).unwrap_err();
    assert!(matches!(e, migsched_sim::SimError::Budget(_)), "{e}");
    assert!(
        e.to_string()
            .contains("more than 2097152 requests in flight"),
        "{e}"
    );
}

#[test]
fn an_explicit_budget_bounds_time_and_backlog() {
    use migsched_sim::{Budget, BudgetExceeded, simulate_with_budget};
    let s = setup(1000.0, 10.0, &[(7, 1)], 1e9);
    let small = Budget {
        max_in_flight: 50,
        ..Budget::default()
    };
    let run = |budget: &Budget, config: &SimConfig| {
        simulate_with_budget(&s, config, budget, &mut Fifs, &mut NoObserver, &mut |_| {})
    };
    // 1000 rps on a server of 100 rps: the backlog passes 50 within the first second.
    let e = run(&small, &SimConfig::default()).unwrap_err();
    assert!(
        matches!(
            e,
            migsched_sim::SimError::Budget(BudgetExceeded::InFlight { limit: 50, .. })
        ),
        "{e}"
    );
    // Requests are counted, not time: a horizon of 1 ms stops the first event past it.
    let short = Budget {
        max_time_ns: 1_000_000,
        ..Budget::default()
    };
    let config = SimConfig {
        stop: Stop::Requests { n: 100 },
        ..SimConfig::default()
    };
    let e = run(&short, &config).unwrap_err().to_string();
    assert!(
        e.contains("beyond the latest simulated time of 1000000 ns"),
        "{e}"
    );
    assert!(run(&Budget::default(), &config).is_ok());
}
