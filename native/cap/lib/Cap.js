'use strict';
var EventEmitter = require('events').EventEmitter;

var addon = require('../build/Release/cap.node');

Object.setPrototypeOf(addon.Cap.prototype, EventEmitter.prototype);
addon.Cap.findDevice = addon.findDevice;
addon.Cap.deviceList = addon.deviceList;

module.exports = addon;
