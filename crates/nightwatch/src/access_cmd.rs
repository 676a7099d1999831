//! `nightwatch users …` and `nightwatch tokens …`: managing who may sign in, from the machine
//! that holds the database (whoever can run this can read the database anyway). Each change
//! is in the audit trail as done from the command line.

use crate::cli::{TokensCommand, UsersCommand};
use anyhow::{Context, bail};
use nightwatch_app::access::{audit, hash_password_blocking, issue_token, new_secret};
use nightwatch_core::access::{Role, check_name, check_password};
use nightwatch_core::{Clock, SystemClock};
use nightwatch_store::{AuditEntry, Store};
use std::io::BufRead;

fn role(text: &str) -> anyhow::Result<Role> {
    text.parse::<Role>()
        .map_err(|e| anyhow::anyhow!("--role: {e}"))
}

/// The password from standard input, or a generated one (then printed).
fn password(name: &str, from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((new_secret(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    check_password(name, &password).map_err(|why| anyhow::anyhow!("{why}"))?;
    Ok((password, false))
}

async fn record(store: &Store, action: &str, target: &str, detail: Option<String>) {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    audit(
        store,
        AuditEntry {
            id: None,
            at: SystemClock.now(),
            actor: format!("cli:{who}"),
            auth_method: "cli".to_owned(),
            source: None,
            action: action.to_owned(),
            target: Some(target.to_owned()),
            outcome: "ok".to_owned(),
            detail,
        },
    )
    .await;
}

pub async fn users(store: &Store, command: UsersCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        UsersCommand::Add {
            name,
            role: r,
            password_stdin,
        } => {
            check_name(&name).map_err(|e| anyhow::anyhow!(e))?;
            let role = role(&r)?;
            let (password, generated) = password(&name, password_stdin)?;
            let hash = hash_password_blocking(password.clone()).await?;
            if !store
                .create_user(&name, &hash, role, generated, now)
                .await?
            {
                bail!("a user {name:?} exists already (nightwatch users passwd / role)");
            }
            record(store, "user_add", &name, Some(format!("role {role}"))).await;
            if generated {
                println!(
                    "user {name} ({role}) added; password (shown once, to be changed at first sign-in):\n{password}"
                );
            } else {
                println!("user {name} ({role}) added");
            }
        }
        UsersCommand::Passwd {
            name,
            password_stdin,
        } => {
            let (password, generated) = password(&name, password_stdin)?;
            let hash = hash_password_blocking(password.clone()).await?;
            if !store.set_password(&name, &hash, generated, now).await? {
                bail!("no user {name:?}");
            }
            record(store, "user_passwd", &name, None).await;
            if generated {
                println!(
                    "password of {name} set (shown once, to be changed at first sign-in):\n{password}"
                );
            } else {
                println!("password of {name} set; their sessions ended");
            }
        }
        UsersCommand::Role { name, role: r } => {
            let role = role(&r)?;
            if !store.set_role(&name, role).await? {
                bail!("no user {name:?}");
            }
            record(store, "user_role", &name, Some(format!("role {role}"))).await;
            println!("{name} is now {role}");
        }
        UsersCommand::List { json } => {
            let users = store.users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                println!(
                    "{:<24} {:<10} {:<20} must change password",
                    "NAME", "ROLE", "CREATED"
                );
                for user in users {
                    println!(
                        "{:<24} {:<10} {:<20} {}",
                        user.name,
                        user.role,
                        user.created_at.format("%Y-%m-%d %H:%M"),
                        if user.must_change_password {
                            "yes"
                        } else {
                            "no"
                        }
                    );
                }
            }
        }
        UsersCommand::Remove { name } => {
            if !store.remove_user(&name, now).await? {
                bail!("no user {name:?}");
            }
            record(store, "user_remove", &name, None).await;
            println!("user {name} removed; their sessions and tokens no longer work");
        }
    }
    Ok(())
}

pub async fn tokens(store: &Store, command: TokensCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        TokensCommand::Create {
            name,
            role: r,
            user,
            expires_in,
        } => {
            let role = role(&r)?;
            let expires = expires_in.as_deref().map(|text| ("--expires-in", text));
            let issued = issue_token(store, &name, user.as_deref(), role, expires, now).await?;
            let (id, secret) = (issued.id, issued.secret);
            record(
                store,
                "token_create",
                &format!("token {id} ({name})"),
                Some(format!("role {role}")),
            )
            .await;
            eprintln!("token {id} ({name}, {role}) created; shown once:");
            println!("{secret}");
        }
        TokensCommand::List { json } => {
            let tokens = store.tokens().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                println!(
                    "{:<5} {:<20} {:<10} {:<16} {:<20} STATE",
                    "ID", "NAME", "ROLE", "USER", "EXPIRES"
                );
                for t in tokens {
                    let state = if t.revoked_at.is_some() {
                        "revoked"
                    } else if t.expires_at.is_some_and(|e| e <= now) {
                        "expired"
                    } else {
                        "live"
                    };
                    println!(
                        "{:<5} {:<20} {:<10} {:<16} {:<20} {state}",
                        t.id,
                        t.name,
                        t.role,
                        t.owner.as_deref().unwrap_or("-"),
                        t.expires_at
                            .map(|e| e.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_else(|| "never".into()),
                    );
                }
            }
        }
        TokensCommand::Revoke { id } => {
            if !store.revoke_token(id, now).await? {
                bail!("no live token {id}");
            }
            record(store, "token_revoke", &format!("token {id}"), None).await;
            println!("token {id} revoked");
        }
    }
    Ok(())
}
