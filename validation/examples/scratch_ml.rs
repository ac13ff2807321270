use burn::backend::{Autodiff, Flex};
use burn::backend::flex::FlexDevice;
use burn::tensor::DType;
use oplab_validation::icl::{data::*, gd, lsa::*, train::*};
use rand::SeedableRng;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let k: usize = a[1].parse().unwrap();
    let steps: usize = a[2].parse().unwrap();
    let batch: usize = a[3].parse().unwrap();
    let lr: f64 = a[4].parse().unwrap();
    let decay: f64 = a[5].parse().unwrap();
    let init: f64 = a.get(6).map(|s| s.parse().unwrap()).unwrap_or(0.002);
    let dist = TaskDistribution::new(10, 10, Covariates::Uniform { half_width: 0.5 }, Prior::Isotropic, 0.0).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let eval = dist.sample(10000, &mut rng);
    if steps == 0 {
        let tune = dist.sample(10000, &mut rng);
        let (e, g, l) = gd::tune_gdpp(&tune, k, true, 6.0 * (1.0 + 0.6 * (k as f64 - 1.0)));
        let (p, lu) = gd::tune_gdpp_untied(&tune, k, e, g);
        let ev = |pp: &[(f64, f64)]| gd::half_mse(&gd::gdpp_layers(&eval, pp), &eval.yq).0;
        println!("tied eta {e:.3} gamma {g:.4} train {l:.5} eval {:.5}; untied {p:?} train {lu:.5} eval {:.5}", ev(&vec![(e, g); k]), ev(&p));
        return;
    }
    let t0 = std::time::Instant::now();
    let opts = TrainOptions { steps, batch, lr, lr_decay: decay };
    let mut w = 0.0;
    let m = train_lsa::<Autodiff<Flex>>(&LsaConfig::new(10).with_layers(k).with_init_scale(init), &dist, &opts, &mut rng, &FlexDevice, |s, l| {
        w += l;
        if (s + 1) % (steps / 10) == 0 { eprintln!("step {} loss {:.5} t {:.1}", s + 1, w / (steps / 10) as f64, t0.elapsed().as_secs_f64()); w = 0.0; }
    });
    let p = to_f64(m.predict(tokens::<Flex>(&eval, None, &FlexDevice, DType::F32)));
    println!("K={k} eval loss {:.5}", gd::half_mse(&p, &eval.yq).0);
}
#[allow(dead_code)]
fn untied() {}
