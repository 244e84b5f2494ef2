//! Stewardship and training: `review`, `unmerge`, `reconcile train`, `reconcile rescore`. Each writes golden records
//! outside a source run, so each takes the writer lock first.

use std::path::Path;

use super::{
    AppError, Context, Format, Outcome, Writes, entity, load, open_store, open_writer, output,
};
use crate::cli;
use crate::reconcile::{self, ReconcileStats, Reconciler};
use crate::store::ReviewStatus;
use crate::store::Store;
use crate::sync::Pipeline;

/// The review queue (open items unless `all`).
pub async fn review_list(
    context: &Context,
    all: bool,
    limit: i64,
    format: Format,
) -> Result<Outcome, AppError> {
    let store = open_store(&load(context)?).await?;
    let status = (!all).then_some(ReviewStatus::Open);
    let items = store.reviews(status, limit).await?;
    output::listing(format, &items, cli::review_list);
    Ok(Outcome::Done)
}

/// Merges the pair of a review item.
pub async fn review_accept(context: &Context, id: i64) -> Result<Outcome, AppError> {
    let stats = decide_review(context, id, true).await?;
    output::line(format!(
        "review #{id} accepted: {} merged, {} events",
        stats.merged, stats.events
    ));
    Ok(Outcome::Done)
}

/// Keeps the pair of a review item apart for good.
pub async fn review_reject(context: &Context, id: i64) -> Result<Outcome, AppError> {
    decide_review(context, id, false).await?;
    output::line(format!(
        "review #{id} rejected: the pair will never be merged automatically"
    ));
    Ok(Outcome::Done)
}

/// Splits a source record out of a golden record, for good.
pub async fn unmerge(
    context: &Context,
    entity_name: &str,
    id: &str,
    source: &str,
    key: &str,
) -> Result<Outcome, AppError> {
    let kind = entity(entity_name)?;
    let config = load(context)?;
    let (store, _lease) = open_writer(&config, context, "unmerge", Writes::Golden).await?;
    let (new_id, stats) = Reconciler::new(&config.matching())?
        .unmerge(store.as_ref(), kind, id, source, key)
        .await?;
    output::line(format!(
        "{source}:{key} split out of {id} into {new_id} ({} events)",
        stats.events
    ));
    Ok(Outcome::Done)
}

/// Judges the stored records and the review queue again under the current rules and weights,
/// and applies the merges and splits found (a dry run writes nothing, and takes no lock).
pub async fn rescore(
    context: &Context,
    entity_name: &str,
    dry_run: bool,
) -> Result<Outcome, AppError> {
    let kind = entity(entity_name)?;
    let config = load(context)?;
    let (store, _lease) = if dry_run {
        (
            open_store(&config).await?,
            crate::store::lock::Lease::nothing(),
        )
    } else {
        open_writer(&config, context, "reconcile rescore", Writes::Golden).await?
    };
    let options = reconcile::rescore::RescoreOptions {
        dry_run,
        ..Default::default()
    };
    let report = Reconciler::new(&config.matching())?
        .rescore(store.as_ref(), kind, options)
        .await?;
    output::print(&report.summary());
    Ok(Outcome::Done)
}

/// Estimates the scored rules' weights from the stored records and writes them.
pub async fn train(
    context: &Context,
    entity_name: &str,
    output_file: Option<&Path>,
    options: reconcile::train::TrainOptions,
) -> Result<Outcome, AppError> {
    let kind = entity(entity_name)?;
    let config = load(context)?;
    let (store, _lease) = open_writer(&config, context, "reconcile train", Writes::Golden).await?;
    let written = reconcile::train::train_config(
        &config.matching(),
        store.as_ref(),
        kind,
        output_file,
        options,
    )
    .await?;
    for (path, report) in written {
        output::line(format!(
            "{kind} rule `{}`: {} records, {} candidate pairs, {} EM iterations, match share {:.4} → {}",
            report.rule,
            report.records,
            report.pairs,
            report.iterations,
            report.trained.match_share,
            path.display()
        ));
        for (comparison, w) in &report.trained.weights {
            output::line(format!(
                "  {comparison:<20} exact {:>+6.2}  close {:>+6.2}  far {:>+6.2}",
                w.exact, w.close, w.far
            ));
        }
    }
    Ok(Outcome::Done)
}

/// Accepts (merges) or rejects review item `id` under the store's writer lock: `concord review
/// accept/reject` and the steward page of `concord serve`.
pub async fn decide_review(
    context: &Context,
    id: i64,
    accept: bool,
) -> Result<ReconcileStats, AppError> {
    let config = load(context)?;
    let command = if accept {
        "review accept"
    } else {
        "review reject"
    };
    let (store, _lease) = open_writer(&config, context, command, Writes::Golden).await?;
    let reconciler = Reconciler::new(&config.matching())?;
    decide(&reconciler, store.as_ref(), id, accept).await
}

/// [`decide_review`] inside `concord run`, which holds the store already: the decision waits for
/// the service's turn at the store, as a source's batch does.
pub async fn decide_review_in_service(
    pipeline: &Pipeline,
    store: &dyn Store,
    id: i64,
    accept: bool,
) -> Result<ReconcileStats, AppError> {
    let command = if accept {
        "review accept"
    } else {
        "review reject"
    };
    let _turn = pipeline.write_turn(command).await?;
    let reconciler = Reconciler::new(&pipeline.config().matching())?;
    decide(&reconciler, store, id, accept).await
}

async fn decide(
    reconciler: &Reconciler,
    store: &dyn Store,
    id: i64,
    accept: bool,
) -> Result<ReconcileStats, AppError> {
    Ok(match accept {
        true => reconciler.accept_review(store, id).await?,
        false => reconciler.reject_review(store, id).await?,
    })
}
