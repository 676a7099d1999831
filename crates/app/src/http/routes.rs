//! The route table: every route is mounted through [`Routes`] with the access it asks for,
//! so the guard can look it up and a test can walk all of them. A route mounted any other way
//! has no entry, and the guard refuses it (fail closed).

use super::AppState;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use nightwatch_core::access::Access;
use std::collections::HashMap;

/// One mounted route and what it asks of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    /// axum's path pattern (`/api/actions/{id}/approve`), as `MatchedPath` reports it.
    pub path: &'static str,
    pub access: Access,
}

/// A router under construction plus its table.
pub struct Routes {
    pub(super) router: Router<AppState>,
    pub(super) table: Vec<RouteSpec>,
}

impl Routes {
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    pub fn get<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, access, axum::routing::get(handler))
    }

    pub fn post<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, access, axum::routing::post(handler))
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        route: axum::routing::MethodRouter<AppState>,
    ) -> Self {
        self.router = self.router.route(path, route);
        self.table.push(RouteSpec {
            method,
            path,
            access,
        });
        self
    }

    /// Adds routes built elsewhere (with their own layers) and their table.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    pub fn table(&self) -> &[RouteSpec] {
        &self.table
    }

    /// The table as the guard looks it up. A `GET` route also answers `HEAD`.
    pub fn lookup(&self) -> HashMap<(Method, &'static str), Access> {
        let mut map = HashMap::new();
        for spec in &self.table {
            map.insert((spec.method.clone(), spec.path), spec.access);
            if spec.method == Method::GET {
                map.insert((Method::HEAD, spec.path), spec.access);
            }
        }
        map
    }
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}
